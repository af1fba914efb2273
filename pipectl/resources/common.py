"""Small helpers shared by the resource modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pipectl.aws import error_code, is_botocore_error, translate
from pipectl.plan import Action, Change, Op

MANAGED_BY = "managed-by"
PIPELINE_TAG = "pipectl-pipeline"
T = TypeVar("T")
Performer = Callable[[Any, Any], None]  # (ctx, state) -> None


def parallel_reads(readers: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent read calls side by side; each is a network round trip on real AWS."""
    if len(readers) <= 1:
        return {name: read() for name, read in readers.items()}
    with ThreadPoolExecutor(max_workers=len(readers)) as pool:
        futures = {name: pool.submit(read) for name, read in readers.items()}
        return {name: future.result() for name, future in futures.items()}


def perform(
    ctx: Any,
    state: Any,
    ops: Iterable[Op],
    performers: Mapping[Any, Performer],
    parallel: bool = False,
) -> None:
    """Run each op's function (in order, or side by side when the ops are independent API calls
    on an existing resource)."""
    steps = [performers[op] for op in ops]
    if not parallel or len(steps) <= 1:
        for step in steps:
            step(ctx, state)
        return
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        for future in [pool.submit(step, ctx, state) for step in steps]:
            future.result()


def tags_dict(tag_list: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def owned(tags: Mapping[str, str] | None, pipeline: str) -> bool:
    """pipectl deletes only what carries both of its tags for this pipeline."""
    tags = tags or {}
    return tags.get(MANAGED_BY) == "pipectl" and tags.get(PIPELINE_TAG) == pipeline


def teardown_verdict(kind: str, state: Any, pipeline: str) -> Change | None:
    """The answer for a resource `down` must not delete (missing, or not pipectl's), else None."""
    if not state.exists:
        return Change(kind, state.name, Action.UNCHANGED, ("does not exist",))
    if not state.managed(pipeline):
        return Change(kind, state.name, Action.KEEP, ("not created by pipectl",))
    return None


def unless_missing(
    call: Callable[[], T], missing_codes: Iterable[str], default: T, doing: str = ""
) -> T:
    """Run `call`; an error whose code says "not there" gives `default` instead. With `doing`,
    any other AWS error becomes a pipectl error saying what was being done."""
    try:
        return call()
    except Exception as exc:
        if error_code(exc) in set(missing_codes):
            return default
        if doing and is_botocore_error(exc):
            raise translate(exc, doing) from None
        raise


def delete_quietly(call: Callable[[], Any], missing_codes: Iterable[str]) -> None:
    """Run a delete; a resource that is already gone counts as deleted (down is re-runnable)."""
    unless_missing(call, missing_codes, None)
