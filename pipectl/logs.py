"""`pipectl logs`: the function's CloudWatch log events, read once or followed.

No rendering here: events are handed to an `emit` callback. Time is injected (`now`, `sleep`) and
the follow loop can be bounded (`max_polls`), so tests drive it without waiting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pipectl.aws import error_code, translate
from pipectl.errors import UsageError

POLL_S = 2.0  # FilterLogEvents has a low per-account rate quota; 2 s feels live enough
OVERLAP_MS = 10_000  # CloudWatch may ingest an event seconds after its timestamp
SINCE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_PATTERN = re.compile(r"^(\d+)\s*([smhd])$", re.IGNORECASE)
REQUEST_ID = re.compile(r"RequestId: ([0-9A-Za-z-]+)")
ERROR_MARKERS = (
    "[ERROR]",
    "[CRITICAL]",
    "Traceback (most recent call last)",
    "Task timed out after",
    "Runtime exited with error",
    '"errorType"',
)
ERROR_LEVELS = {"ERROR", "CRITICAL", "FATAL"}


class LogGroupMissing(Exception):
    """The log group does not exist yet: the function has never run (or `up` has not run)."""


@dataclass(frozen=True)
class LogEvent:
    timestamp: int  # epoch milliseconds
    stream: str
    message: str
    event_id: str = ""

    @classmethod
    def from_aws(cls, raw: dict[str, Any]) -> LogEvent:
        # moto reports float timestamps; CloudWatch's are integer milliseconds.
        message = str(raw.get("message", "")).rstrip("\n")
        return cls(int(raw["timestamp"]), raw.get("logStreamName", ""), message, raw["eventId"])

    @property
    def identity(self) -> tuple[str, str]:
        """What makes an event unique: its id within its stream."""
        return (self.stream, self.event_id or f"{self.timestamp}:{self.message}")

    def as_json(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "stream": self.stream, "message": self.message}


def parse_since(text: str, now: float) -> int:
    """`10m`, `2h`, `1d`, `30s` before `now` (epoch seconds), or an ISO-8601 time (naive = UTC),
    as epoch milliseconds. Raised as a UsageError before any AWS call."""
    value = text.strip()
    match = SINCE_PATTERN.match(value)
    if match:
        seconds = int(match.group(1)) * SINCE_UNITS[match.group(2).lower()]
        return int((now - seconds) * 1000)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither a duration nor an ISO time",
            "use e.g. --since 30s, 10m, 2h, 1d or 2026-11-28T12:00:00Z (no zone means UTC)",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def read_events(
    client: Any,
    group: str,
    start_ms: int,
    filter_pattern: str | None = None,
    page_size: int | None = None,
) -> Iterator[LogEvent]:
    """Every event of `group` from `start_ms` on, across pages (botocore's paginator)."""
    # AWS always interleaves streams by time (the flag is deprecated and ignored); moto needs it.
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "startTime": max(0, start_ms),
        "interleaved": True,
    }
    if filter_pattern:
        kwargs["filterPattern"] = filter_pattern
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    pages = client.get_paginator("filter_log_events").paginate(**kwargs)
    try:
        for page in pages:
            for raw in page.get("events", []):
                yield LogEvent.from_aws(raw)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise LogGroupMissing(group) from None
        raise translate(exc, f"reading log group {group}") from None


def read(
    client: Any,
    group: str,
    start_ms: int,
    emit: Callable[[LogEvent], None],
    filter_pattern: str | None = None,
    page_size: int | None = None,
) -> int:
    """Emit every event since `start_ms`, page by page; how many. Raises LogGroupMissing."""
    count = 0
    for event in read_events(client, group, start_ms, filter_pattern, page_size):
        emit(event)
        count += 1
    return count


class SeenWindow:
    """Which events were already emitted, remembered only for the overlap window.

    Each poll asks again from `newest - overlap_ms`, so an event ingested late with an older
    timestamp is still found; the ids remembered for that window keep every event to one print.
    Ids older than the window are forgotten (a poll can never return them again), so memory
    stays bounded however long `--follow` runs.
    """

    def __init__(self, overlap_ms: int = OVERLAP_MS) -> None:
        self.overlap_ms = overlap_ms
        self.newest: int | None = None
        self.seen: dict[tuple[str, str], int] = {}

    def start_from(self, since_ms: int) -> int:
        if self.newest is None:
            return since_ms
        return max(since_ms, self.newest - self.overlap_ms)

    def fresh(self, events: Iterable[LogEvent]) -> list[LogEvent]:
        """The events not emitted before, oldest first; remembers them."""
        new = []
        for event in events:
            if event.identity in self.seen:
                continue
            self.seen[event.identity] = event.timestamp
            new.append(event)
            self.newest = max(self.newest or event.timestamp, event.timestamp)
        if self.newest is not None:
            cutoff = self.newest - self.overlap_ms
            self.seen = {k: ts for k, ts in self.seen.items() if ts >= cutoff}
        return sorted(new, key=lambda e: e.timestamp)


def follow(
    client: Any,
    group: str,
    start_ms: int,
    emit: Callable[[LogEvent], None],
    sleep: Callable[[float], None],
    filter_pattern: str | None = None,
    poll_s: float = POLL_S,
    overlap_ms: int = OVERLAP_MS,
    page_size: int | None = None,
    max_polls: int | None = None,
    on_missing: Callable[[], None] | None = None,
) -> int:
    """Poll until interrupted (KeyboardInterrupt propagates) or `max_polls` polls; how many
    events were emitted. A missing log group is reported once and waited for."""
    window = SeenWindow(overlap_ms)
    emitted = polls = 0
    reported_missing = False
    while True:
        try:
            batch = list(
                read_events(client, group, window.start_from(start_ms), filter_pattern, page_size)
            )
        except LogGroupMissing:
            batch = []
            if on_missing and not reported_missing:
                on_missing()
            reported_missing = True
        for event in window.fresh(batch):
            emit(event)
            emitted += 1
        polls += 1
        if max_polls is not None and polls >= max_polls:
            return emitted
        sleep(poll_s)


# What a line says, shared by the renderer and by verify ---------------------------------------


def handler_fields(message: str) -> dict[str, Any] | None:
    """The fields of one of the handler's JSON log lines, else None."""
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def is_error(message: str) -> bool:
    """An error line: the runtime's `[ERROR]`/traceback/timeout lines or an ERROR JSON line."""
    fields = handler_fields(message)
    if fields is not None and str(fields.get("level", "")).upper() in ERROR_LEVELS:
        return True
    return any(marker in message for marker in ERROR_MARKERS)


def is_runtime_frame(message: str) -> bool:
    """Lambda's own START / END / REPORT / INIT lines."""
    return message.startswith(("START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_"))


def request_id_of(message: str) -> str | None:
    """The request id a line names: `RequestId: …` (runtime lines) or the handler's field."""
    match = REQUEST_ID.search(message)
    if match:
        return match.group(1)
    fields = handler_fields(message)
    if fields is not None:
        value = fields.get("request_id") or fields.get("requestId")
        return str(value) if value else None
    return None


def short_stream(stream: str) -> str:
    """`2026/11/28/[$LATEST]2d6b7d7a…` -> `2d6b7d7a`: enough to tell invocations apart."""
    tail = stream.rsplit("]", 1)[-1] or stream.rsplit("/", 1)[-1]
    return tail[:8]
