"""Bounded retries for AWS's eventual-consistency errors, with injectable time for tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pipectl.aws import error_code, error_message

T = TypeVar("T")


def backoff_delays(first: float = 1.0, factor: float = 2.0, cap: float = 8.0):
    """1, 2, 4, 8, 8, ... seconds: quick for the usual few-second propagation, bounded after."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


def is_error(exc: BaseException, code: str, message_part: str = "") -> bool:
    return error_code(exc) == code and message_part.lower() in error_message(exc).lower()


def retry(
    call: Callable[[], T],
    should_retry: Callable[[BaseException], bool],
    deadline_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    on_give_up: Callable[[BaseException], BaseException] | None = None,
) -> T:
    """Run `call`; while it raises an error `should_retry` accepts, wait and try again until
    `deadline_s` has passed. Any other error is raised at once."""
    start = clock()
    for delay in backoff_delays():
        try:
            return call()
        except Exception as exc:
            if not should_retry(exc):
                raise
            remaining = deadline_s - (clock() - start)
            if remaining <= 0:
                if on_give_up:
                    raise on_give_up(exc) from None
                raise
            sleep(min(delay, remaining))
    raise AssertionError("unreachable")  # backoff_delays never ends
