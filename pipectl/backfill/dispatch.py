"""Asynchronous Invoke (`InvocationType="Event"`): Lambda queues the event and answers 202; the
function runs later, on Lambda. Throttling (`TooManyRequestsException`, 429) and server errors are
retried with the shared backoff until a deadline; an event still refused then is reported as
failed by the caller, never dropped silently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pipectl.backfill.faults import retryable
from pipectl.retry import Backoff, retry

# 0.5, 1, 2, 4, 8, 10, 10 ... s: Lambda's async invoke throttles per second, so a few seconds'
# pause is usually enough; capped so a long throttle is still probed every 10 s.
THROTTLED = Backoff(0.5, 2.0, 10.0)


class Stopped(Exception):
    """The run is stopping (Ctrl-C, or an error that stops it): no further attempt is made."""


def invoke_event(
    lambda_client: Any,
    function: str,
    payload: bytes,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline_s: float,
    stop: threading.Event,
) -> None:
    """Hand one event to Lambda's queue; raise the last error if it is refused until the
    deadline, or Stopped when the run stops between attempts."""

    def call() -> None:
        if stop.is_set():
            raise Stopped()
        lambda_client.invoke(FunctionName=function, InvocationType="Event", Payload=payload)

    retry(call, retryable, deadline_s, sleep, clock, backoff=THROTTLED)
