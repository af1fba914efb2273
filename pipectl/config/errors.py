"""The schema's first complaint about a config file, as pipectl's one-line message and fix."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, get_args, get_origin

from pipectl.config.schema import ValidationError
from pipectl.errors import UsageError

TYPE_WORDS = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    tuple: "a list",
}


def config_error(exc: ValidationError, source: str, root: type) -> UsageError:
    """The first problem the schema found, as `source: `key` problem` and a fix."""
    error = exc.errors(include_url=False)[0]
    loc = [str(part) for part in error["loc"]]
    key = key_path(loc)
    kind, value = error["type"], error.get("input")
    if kind in {"unexpected_keyword_argument", "extra_forbidden"}:
        known = ", ".join(sorted(field_names(root, loc[:-1])))
        return UsageError(f"{source}: unknown key `{key}`", f"known keys here: {known}")
    if kind == "value_error":
        problem = str(error.get("ctx", {}).get("error", error["msg"]))
        return UsageError(f"{source}: `{key}` {problem}", f"fix `{key}` in {source}")
    if kind in {"dataclass_type", "dataclass_exact_type"}:
        return UsageError(
            f"{source}: `{key}` must be a mapping, got {describe(value)}",
            f"write `{loc[-1]}:` followed by indented keys",
        )
    return UsageError(
        f"{source}: `{key}` must be {expected_type(root, loc)}, got {describe(value)}",
        "see config.example.yaml",
    )


def key_path(loc: list[str]) -> str:
    """("trigger", "events", "0") -> trigger.events[0]"""
    text = ""
    for part in loc:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def field_type(root: type, loc: list[str]) -> Any:
    """The annotation of the field at `loc` under the schema's `root` class."""
    current: Any = root
    for part in loc:
        if part.isdigit():  # an item of a tuple field
            current = next(iter(get_args(strip_annotated(current))), Any)
            continue
        fields = {f.name: f for f in dataclasses.fields(strip_annotated(current))}
        current = fields[part].type
    return current


def strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def field_names(root: type, loc: list[str]) -> list[str]:
    return [f.name for f in dataclasses.fields(strip_annotated(field_type(root, loc)))]


def expected_type(root: type, loc: list[str]) -> str:
    annotation = strip_annotated(field_type(root, loc))
    options = get_args(annotation) if get_origin(annotation) not in {None, tuple} else ()
    members = [strip_annotated(o) for o in options] or [annotation]
    nullable = type(None) in members
    words = [TYPE_WORDS.get(get_origin(m) or m, "a value") for m in members if m is not type(None)]
    return " or ".join(words) + (" or null" if nullable else "")


def describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"
