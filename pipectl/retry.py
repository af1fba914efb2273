"""The one backoff for every wait in pipectl: retrying AWS's eventual-consistency errors, polling
until something is ready, waiting for a child process. Time is injectable so tests never wait.

`Backoff` describes the delays (first, factor, cap); `retry` runs a call until it stops raising a
retryable error, `poll` runs a check until it returns something truthy. Both stop at a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays `first`, `first*factor`, ... capped at `cap` seconds."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 8.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.cap)


# 1, 2, 4, 8, 8, ... s: quick for the usual few-second propagation, bounded after.
AWS_PROPAGATION = Backoff(1.0, 2.0, 8.0)
# 0.1, 0.15, 0.23, ... 1 s: quick on the emulator, gentle on AWS (verify's probe reads).
PROBE = Backoff(0.1, 1.5, 1.0)


def retry(
    call: Callable[[], T],
    should_retry: Callable[[BaseException], bool],
    deadline_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_give_up: Callable[[BaseException], BaseException] | None = None,
    backoff: Backoff = AWS_PROPAGATION,
) -> T:
    """Run `call`; while it raises an error `should_retry` accepts, wait and try again until
    `deadline_s` has passed. Any other error is raised at once."""
    start = clock()
    for delay in backoff.delays():
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
    raise AssertionError("unreachable")  # Backoff.delays never ends


def poll(
    check: Callable[[], T],
    deadline_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    backoff: Backoff = PROBE,
) -> T | None:
    """Call `check` until it returns something truthy (returned) or `deadline_s` has passed
    (the last falsy result is returned). `check` runs at least once, and once more at the
    deadline, so a condition met during the last sleep is not missed."""
    start = clock()
    for delay in backoff.delays():
        result = check()
        if result:
            return result
        remaining = deadline_s - (clock() - start)
        if remaining <= 0:
            return result
        sleep(min(delay, remaining))
    raise AssertionError("unreachable")
