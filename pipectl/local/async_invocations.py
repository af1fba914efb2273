"""Asynchronous invocations: S3 notifications and Invoke with InvocationType=Event.

As on Lambda (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html): the event is
queued and the caller gets its answer at once. Each function has its own queue, drained by up to
as many worker threads as it may have environments. An event whose invocation fails (an error, a
timeout, a crash) is retried `MaximumRetryAttempts` times (default 2), after PIPECTL_LOCAL_RETRY_
DELAY_S and then twice that (AWS: about 1 and 2 minutes); an event older than
`MaximumEventAgeInSeconds` (default 6 hours) is not run again. Then the invocation record goes to
the on-failure destination, if one is configured (or to the on-success one after a success).
Each attempt is an invocation of its own in the logs, under the event's one request id. A
function with reserved concurrency 0 sends its events to the on-failure destination at once.

The configuration is read as GetFunctionEventInvokeConfig answers it, at each attempt.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.exceptions import UnknownEventConfig
from moto.awslambda.utils import get_backend

from pipectl.local import destinations
from pipectl.local.invocations import Outcome, Runner
from pipectl.retry import Backoff

log = logging.getLogger("pipectl.local")

DEFAULT_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_S = 21_600


@dataclass
class QueuedEvent:
    """One event and what became of it so far."""

    function: tuple[str, str, str, str]  # account, region, name, version
    payload: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enqueued_at: float = field(default_factory=time.time)
    attempts: int = 0
    last: Outcome | None = None


@dataclass
class _Lane:
    """A function's queue: (due on the monotonic clock, order, event), soonest first."""

    queue: list[tuple[float, int, QueuedEvent]] = field(default_factory=list)
    workers: int = 0


class AsyncInvoker:
    """The emulator's event queues and their workers."""

    def __init__(self, runner: Runner, retry_delay_s: float) -> None:
        self.runner = runner
        self.retry_delays = Backoff(retry_delay_s, 2.0, retry_delay_s * 2)
        self._cond = threading.Condition()
        self._lanes: dict[tuple[str, str, str, str], _Lane] = {}
        self._order = itertools.count()

    def submit(self, fn: Any, payload: bytes) -> str:
        """Queue `payload` (JSON) for `fn`; its request id."""
        event = QueuedEvent((fn.account_id, fn.region, fn.function_name, str(fn.version)), payload)
        self._push(event, time.monotonic(), self.runner.cap(fn))
        return event.request_id

    def _push(self, event: QueuedEvent, due: float, cap: int) -> None:
        with self._cond:
            lane = self._lanes.setdefault(event.function, _Lane())
            heapq.heappush(lane.queue, (due, next(self._order), event))
            start_worker = lane.workers < max(cap, 1)  # reserved 0: one worker sends it on
            if start_worker:
                lane.workers += 1
            self._cond.notify_all()
        if start_worker:
            threading.Thread(
                target=self._work, args=(lane,), name="pipectl-async", daemon=True
            ).start()

    def _work(self, lane: _Lane) -> None:
        while (event := self._next(lane)) is not None:
            try:
                self._attempt(event)
            except Exception:  # a bug or the emulator stopping: never in silence
                log.exception("async event %s for %s was lost", event.request_id, event.function)

    def _next(self, lane: _Lane) -> QueuedEvent | None:
        """The lane's next due event, waiting for it; None (and one worker less) when empty."""
        with self._cond:
            while lane.queue:
                due, _, event = lane.queue[0]
                wait_s = due - time.monotonic()
                if wait_s <= 0:
                    heapq.heappop(lane.queue)
                    return event
                self._cond.wait(wait_s)  # a new event or the due time wakes it
            lane.workers -= 1
            return None

    def _attempt(self, event: QueuedEvent) -> None:
        fn = _lookup(event)
        if fn is None:
            log.warning("dropped async event %s: %s is gone", event.request_id, event.function)
            return
        config = _invoke_config(fn)
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS))
        max_age_s = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_S))
        if time.time() - event.enqueued_at >= max_age_s:
            self._finish(fn, event, config, "EventAgeExceeded")
        elif self.runner.cap(fn) == 0:  # documented: straight to the destination, no retries
            self._finish(fn, event, config, "RetriesExhausted")
        else:
            event.last = self.runner.run(fn, event.payload, event.request_id)
            event.attempts += 1
            if not event.last.is_error:
                self._finish(fn, event, config, "Success")
            elif event.attempts > retries:
                self._finish(fn, event, config, "RetriesExhausted")
            else:  # again after the delay, or when the event expires if that is sooner
                delay_s = _nth(self.retry_delays.delays(), event.attempts)
                now = time.monotonic()
                expires = now + max_age_s - (time.time() - event.enqueued_at) + 0.001
                self._push(event, min(now + delay_s, expires), self.runner.cap(fn))

    def _finish(self, fn: Any, event: QueuedEvent, config: dict[str, Any], condition: str) -> None:
        """Send the invocation record where the configuration says, if anywhere."""
        which = "OnSuccess" if condition == "Success" else "OnFailure"
        target = ((config.get("DestinationConfig") or {}).get(which) or {}).get("Destination")
        if condition != "Success":
            log.info(
                "%s: async request %s %s after %d attempt(s)",
                fn.function_name,
                event.request_id,
                condition,
                event.attempts,
            )
        if not target:
            return
        document = destinations.record(
            fn, event.request_id, event.payload, condition, event.attempts, event.last
        )
        destinations.deliver(fn, target, document, self.submit)


def _lookup(event: QueuedEvent) -> Any:
    account, region, name, version = event.function
    try:
        return get_backend(account, region).get_function(
            name, None if version == "$LATEST" else version
        )
    except Exception:  # deleted meanwhile: Lambda drops such events too
        return None


def _invoke_config(fn: Any) -> dict[str, Any]:
    """The config as GetFunctionEventInvokeConfig answers it (moto keeps every Put and answers
    with the first: pipectl deletes before it puts, so that is the current one)."""
    try:
        return get_backend(fn.account_id, fn.region).get_function_event_invoke_config(
            fn.function_name
        )
    except UnknownEventConfig:
        return {}


def _nth(delays: Iterator[float], n: int) -> float:
    """The n-th (from 1) delay of a backoff."""
    return next(itertools.islice(delays, n - 1, None))
