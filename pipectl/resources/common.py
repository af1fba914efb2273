"""Small helpers shared by the resource modules."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pipectl.aws import (
    carrying_first_send,
    error_code,
    is_botocore_error,
    on_first_send,
    translate,
)
from pipectl.plan import Action, Change, Op

MANAGED_BY = "managed-by"
PIPELINE_TAG = "pipectl-pipeline"
T = TypeVar("T")
Performer = Callable[[Any, Any], None]  # (ctx, state) -> None


def parallel_reads(
    readers: Mapping[str, Callable[[], Any]], once_sent: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run independent read calls side by side; each is a network round trip on real AWS.
    `once_sent` runs on this thread as soon as every reader has its first request in flight
    (or is done): CPU work that can wait for the answers goes there, in time otherwise idle."""
    if len(readers) <= 1 and once_sent is None:
        return {name: read() for name, read in readers.items()}
    in_flight = Countdown(len(readers))

    def prepared(read: Callable[[], Any]) -> Callable[[], Any]:
        if once_sent is None:  # reads within a reader: their requests count as the reader's
            return carrying_first_send(read)
        return on_first_send(read, in_flight.arrive)

    with ThreadPoolExecutor(max_workers=max(len(readers), 1)) as pool:
        futures = {name: pool.submit(prepared(read)) for name, read in readers.items()}
        if once_sent is not None:
            in_flight.wait()
            once_sent()
        return {name: future.result() for name, future in futures.items()}


class Countdown:
    """Waits until `arrive` has been called `count` times."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._lock = threading.Lock()
        self._done = threading.Event()
        if count <= 0:
            self._done.set()

    def arrive(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                self._done.set()

    def wait(self) -> None:
        self._done.wait()


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
