"""The config schema's building blocks, without pydantic: frozen dataclasses whose fields carry
their type, default and rules in `Annotated`, and one `validate` that checks a YAML mapping
against them.

The names and behaviour are those of the pydantic subset `config.py` was written with (strict
types, `AfterValidator`/`BeforeValidator`, `extra="forbid"`, errors as `.errors()` dicts with
`loc`/`type`/`input`/`ctx`), so the schema reads the same and `config_error` still turns the first
complaint into one line. Why not pydantic itself: importing it and building these dataclasses'
schemas cost ~120-180 ms of CPU on every run (measured with `benchmarks/bench_chalice.py` and
`python -X importtime`), more than reading, planning and printing a no-change `up`; checking a
30-line file by hand costs under a millisecond.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints


@dataclasses.dataclass(frozen=True)
class AfterValidator:
    """Runs on the value once its type is right; a ValueError is the field's problem."""

    func: Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class BeforeValidator:
    """Runs on the raw value before its type is checked (e.g. null -> the default)."""

    func: Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class Strict:
    """No conversion: a bool is not an int, an int is not a string."""


StrictStr = Annotated[str, Strict()]
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]
StrictFloat = Annotated[float, Strict()]  # an int is accepted, as a float


def ConfigDict(**settings: Any) -> dict[str, Any]:  # noqa: N802 (pydantic's name)
    """`extra="forbid"` (unknown keys are errors) and `frozen=True` are what the schema uses."""
    return dict(settings)


def dataclass(config: dict[str, Any] | None = None) -> Callable[[type], type]:
    """A stdlib dataclass (frozen when the config says so) that `validate` can check."""
    settings = config or {}

    def decorate(cls: type) -> type:
        made = dataclasses.dataclass(frozen=bool(settings.get("frozen")))(cls)
        made.__schema_config__ = settings  # type: ignore[attr-defined]
        return made

    return decorate


class ValidationError(ValueError):
    """The problems found, first first, each like pydantic's: loc, type, msg, input, ctx."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(problems[0]["msg"] if problems else "invalid")
        self.problems = problems

    def errors(self, include_url: bool = False) -> list[dict[str, Any]]:
        return list(self.problems)


class _Reported(Exception):
    """A part of the value (an item of a list) was invalid and is already reported."""


class _Invalid(Exception):
    def __init__(self, kind: str, msg: str, value: Any, **ctx: Any) -> None:
        super().__init__(msg)
        self.kind, self.msg, self.value, self.ctx = kind, msg, value, ctx


def validate(cls: type, data: Any) -> Any:
    """`data` (a mapping, as YAML gives it) checked against the dataclass `cls`."""
    problems: list[dict[str, Any]] = []
    result = _check(cls, data, (), problems)
    if problems:
        raise ValidationError(problems)
    return result


def _check(annotation: Any, value: Any, loc: tuple[Any, ...], problems: list) -> Any:
    """The value for `annotation`, or None with its problems appended."""
    base, metadata = _split(annotation)
    try:
        for before in reversed([m for m in metadata if isinstance(m, BeforeValidator)]):
            value = before.func(value)
        if dataclasses.is_dataclass(base):
            return _dataclass(base, value, loc, problems)
        value = _typed(base, value, loc, problems)
        for after in (m for m in metadata if isinstance(m, AfterValidator)):
            try:
                value = after.func(value)
            except ValueError as exc:
                raise _Invalid("value_error", f"Value error, {exc}", value, error=exc) from None
        return value
    except _Invalid as exc:
        problems.append(
            {"loc": loc, "type": exc.kind, "msg": exc.msg, "input": exc.value, "ctx": exc.ctx}
        )
    except _Reported:
        pass
    return None


def _dataclass(cls: Any, value: Any, loc: tuple[Any, ...], problems: list) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise _Invalid("dataclass_type", f"Input should be a dictionary or {cls.__name__}", value)
    hints = get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    before = len(problems)
    for name in fields:
        if name in value:
            values[name] = _check(hints[name], value[name], (*loc, name), problems)
    if getattr(cls, "__schema_config__", {}).get("extra") == "forbid":
        for key in value:
            if key not in fields:
                problems.append(
                    {
                        "loc": (*loc, key),
                        "type": "unexpected_keyword_argument",
                        "msg": "Unexpected keyword argument",
                        "input": value[key],
                        "ctx": {},
                    }
                )
    return cls(**values) if len(problems) == before else None


def _typed(base: Any, value: Any, loc: tuple[Any, ...], problems: list) -> Any:
    """Strict type checks: str, int (not bool), bool, float (int accepted), tuple[X, ...],
    unions with None."""
    options = _union_members(base)
    if options is not None:
        if value is None and type(None) in options:
            return None
        others = [o for o in options if o is not type(None)]
        if len(others) == 1:
            return _typed(_split(others[0])[0], value, loc, problems)
        raise _Invalid("union_type", "Input matches none of the allowed types", value)
    if get_origin(base) is tuple:
        if not isinstance(value, tuple):
            raise _Invalid("tuple_type", "Input should be a valid tuple", value)
        item = get_args(base)[0]
        before = len(problems)
        items = tuple(_check(item, v, (*loc, i), problems) for i, v in enumerate(value))
        if len(problems) > before:
            raise _Reported()
        return items
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base in (str, int, bool, float) and (type(value) is not base):
        raise _Invalid(f"{base.__name__}_type", f"Input should be a valid {base.__name__}", value)
    return value


def _split(annotation: Any) -> tuple[Any, list[Any]]:
    """(the bare type, the Annotated metadata, outermost last), nested Annotated flattened."""
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        args = get_args(annotation)
        annotation, metadata = args[0], [*args[1:], *metadata]
    return annotation, metadata


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return None
