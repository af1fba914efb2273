"""`pipectl stats`: the numbers. Log lines in, a `Usage` (what the logs say) out, and a `Stats`
(usage + cost + the window) for the view and the JSON document. No AWS calls here
(stats/read.py reads the logs), no rendering (views/stats.py).

What each number is made of, the same on AWS and on the emulator:
- invocations: `REPORT` lines, one per attempt (the function's runtime writes it after every
  invocation, including timeouts and crashes).
- retries: attempts beyond the first per request id. Lambda keeps the request id when it retries
  an asynchronous invocation ("duplicate invocations that return errors or timeout and that have
  the same request ID indicate that the Lambda service retried the function",
  https://repost.aws/knowledge-center/lambda-function-duplicate-invocations).
- errors: the runtime's own lines: `[ERROR] <Type>: <message>` for an unhandled exception
  (awslambdaric's log_error; a `logging.error` line has a tab after `[ERROR]` and is not one),
  `Task timed out after`, `Runtime exited with error`; or a REPORT line ending in
  `Status: timeout` / `Status: error`. Newer runtimes mark failures in the REPORT line too, so
  errors = max(REPORT lines with a failure status, runtime error lines), never both added up.
- cold starts: REPORT lines with `Init Duration`.
- records: the sums of the handler's `invocation summary` lines.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pipectl.logs import LogEvent, handler_fields
from pipectl.stats import pricing

PERCENTILES = (50, 95, 99)
REPORT = re.compile(
    r"^REPORT RequestId: (?P<request_id>\S+)\s+"
    r"Duration: (?P<duration>[\d.]+) ms\s+"
    r"Billed Duration: (?P<billed>\d+) ms\s+"
    r"Memory Size: (?P<memory>\d+) MB\s+"
    r"Max Memory Used: (?P<max_memory>\d+) MB"
    r"(?:\s+Init Duration: (?P<init>[\d.]+) ms)?"
    r"(?:.*?\bStatus: (?P<status>\w+))?"
)
FAILED_STATUSES = {"error", "timeout", "failure"}
RUNTIME_ERROR = re.compile(
    r"^\[ERROR\] [\w.]+:|Task timed out after|Runtime exited with error",
)
SUMMARY_MESSAGE = "invocation summary"
RECORD_OUTCOMES = ("processed", "skipped", "failed")
# ...and the skipped records whose conditional write DynamoDB rejected (each billed as a write)
SUMMARY_COUNTS = (*RECORD_OUTCOMES, "rejected_writes")
# What FilterLogEvents needs to send back (CloudWatch filter pattern syntax: `?` is OR).
FILTER_PATTERN = (
    '?REPORT ?"invocation summary" ?"[ERROR]" ?"Task timed out after" ?"Runtime exited with error"'
)


@dataclass(frozen=True)
class Report:
    """One REPORT line."""

    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_mb: int
    init_ms: float | None = None
    status: str | None = None

    @property
    def failed(self) -> bool:
        return (self.status or "").lower() in FAILED_STATUSES


def parse_report(message: str) -> Report | None:
    match = REPORT.match(message.strip())
    if not match:
        return None
    init = match.group("init")
    return Report(
        request_id=match.group("request_id"),
        duration_ms=float(match.group("duration")),
        billed_ms=int(match.group("billed")),
        memory_mb=int(match.group("memory")),
        max_memory_mb=int(match.group("max_memory")),
        init_ms=float(init) if init else None,
        status=match.group("status"),
    )


def is_runtime_error(message: str) -> bool:
    return bool(RUNTIME_ERROR.search(message))


def summary_counts(message: str) -> dict[str, int] | None:
    """The record counts of a handler's `invocation summary` line, else None."""
    fields = handler_fields(message)
    if not fields or fields.get("message") != SUMMARY_MESSAGE:
        return None
    return {name: as_count(fields.get(name)) for name in SUMMARY_COUNTS}


def as_count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def nearest_rank(sorted_values: list[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `percent` % of the values
    at or below it (always a value that was observed; 0 for no values)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def histogram_bucket(duration_ms: float) -> int:
    """Power-of-two buckets: k holds durations in [2^k, 2^(k+1)) ms; bucket 0 also holds < 1 ms.
    The Logs Insights query computes the same (stats_read.HISTOGRAM_QUERY)."""
    return int(math.floor(math.log2(max(duration_ms, 1.0))))


@dataclass
class Durations:
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Durations:
        ordered = sorted(values)
        p50, p95, p99 = (nearest_rank(ordered, p) for p in PERCENTILES)
        return cls(p50, p95, p99, ordered[-1] if ordered else 0.0)

    def as_json(self) -> dict[str, float]:
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99, "max": self.max}


@dataclass
class Usage:
    """What the function's logs say about a window: both read paths produce one."""

    invocations: int = 0
    request_ids: int = 0
    failed_reports: int = 0
    error_lines: int = 0
    cold_starts: int = 0
    init_ms_total: float = 0.0
    init_ms_max: float = 0.0
    billed_mb_ms: float = 0.0  # sum of Billed Duration (ms) x Memory Size (MB)
    durations: Durations = field(default_factory=Durations)
    max_memory_used_mb: int = 0
    memory_size_mb: int = 0  # 0: no REPORT line said
    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_OUTCOMES, 0))
    rejected_writes: int = 0  # conditional PutItems DynamoDB rejected (the handler's summaries)
    per_minute: dict[int, int] = field(default_factory=dict)  # minute (epoch s) -> invocations
    histogram: dict[int, int] = field(default_factory=dict)  # histogram_bucket -> invocations

    @property
    def errors(self) -> int:
        return min(self.invocations, max(self.failed_reports, self.error_lines))

    @property
    def retries(self) -> int:
        return max(0, self.invocations - self.request_ids)

    @property
    def init_ms_avg(self) -> float:
        return self.init_ms_total / self.cold_starts if self.cold_starts else 0.0


class Tally:
    """Builds a Usage from log events, one at a time (the FilterLogEvents path)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.durations: list[float] = []
        self.attempts: Counter[str] = Counter()

    def add(self, event: LogEvent) -> None:
        message = event.message
        report = parse_report(message)
        if report is not None:
            self.add_report(report, event.timestamp)
        elif is_runtime_error(message):
            self.usage.error_lines += 1
        else:
            counts = summary_counts(message) or {}
            self.usage.rejected_writes += counts.pop("rejected_writes", 0)
            for name, count in counts.items():
                self.usage.records[name] += count

    def add_report(self, report: Report, timestamp_ms: int) -> None:
        usage = self.usage
        usage.invocations += 1
        self.attempts[report.request_id] += 1
        usage.request_ids = len(self.attempts)
        usage.failed_reports += report.failed
        if report.init_ms is not None:
            usage.cold_starts += 1
            usage.init_ms_total += report.init_ms
            usage.init_ms_max = max(usage.init_ms_max, report.init_ms)
        usage.billed_mb_ms += report.billed_ms * report.memory_mb
        usage.max_memory_used_mb = max(usage.max_memory_used_mb, report.max_memory_mb)
        usage.memory_size_mb = max(usage.memory_size_mb, report.memory_mb)
        self.durations.append(report.duration_ms)
        minute = timestamp_ms // 60_000 * 60
        usage.per_minute[minute] = usage.per_minute.get(minute, 0) + 1
        bucket = histogram_bucket(report.duration_ms)
        usage.histogram[bucket] = usage.histogram.get(bucket, 0) + 1

    def result(self) -> Usage:
        self.usage.durations = Durations.of(self.durations)
        return self.usage


def tally(events: Iterable[LogEvent]) -> Usage:
    counter = Tally()
    for event in events:
        counter.add(event)
    return counter.result()


# Usage + prices + window -> Stats -------------------------------------------------------------


@dataclass
class Stats:
    """Everything `pipectl stats` shows for one window."""

    function: str
    since_ms: int
    until_ms: int
    usage: Usage
    memory_size_mb: int  # from the REPORT lines, else the config
    failed_events: int | None  # messages waiting in the on-failure queue; None: no queue
    queue_name: str
    prices: pricing.Prices
    cost: pricing.Cost
    source: str  # "logs-insights" or "log-events"
    notes: list[str] = field(default_factory=list)
    truncated: bool = False
    insights_bytes_scanned: float | None = None

    @property
    def window_s(self) -> float:
        return max(0.0, (self.until_ms - self.since_ms) / 1000)

    @property
    def files(self) -> int:
        return self.usage.records["processed"]

    @property
    def cost_per_1000_files(self) -> float:
        return pricing.per_thousand(self.cost.total_usd, self.files)

    @property
    def cost_per_month(self) -> float:
        return pricing.per_month(self.cost.total_usd, self.window_s)

    def as_json(self) -> dict[str, Any]:
        usage, cost = self.usage, self.cost
        return {
            "function": self.function,
            "since": iso(self.since_ms),
            "until": iso(self.until_ms),
            "source": self.source,
            "truncated": self.truncated,
            "invocations": usage.invocations,
            "errors": usage.errors,
            "retries": usage.retries,
            "cold_starts": usage.cold_starts,
            "init_duration_ms": {"avg": usage.init_ms_avg, "max": usage.init_ms_max},
            "duration_ms": usage.durations.as_json(),
            "duration_histogram": [
                {"from_ms": 2**k if k else 0, "to_ms": 2 ** (k + 1), "invocations": n}
                for k, n in sorted(usage.histogram.items())
            ],
            "max_memory_used_mb": usage.max_memory_used_mb,
            "memory_size_mb": self.memory_size_mb,
            "memory_hint": memory_hint(usage.max_memory_used_mb, self.memory_size_mb),
            "records": dict(usage.records),
            "failed_events": self.failed_events,
            "billed_gb_seconds": cost.gb_seconds,
            "dynamodb_write_units_estimated": cost.write_units,
            "cost_usd": {
                "lambda": cost.lambda_usd,
                "dynamodb": cost.dynamodb_usd,
                "total": cost.total_usd,
            },
            "cost_per_1000_files_usd": self.cost_per_1000_files,
            "cost_per_month_usd": self.cost_per_month,
            "prices_usd": self.prices.as_json(),
            "estimate": (
                "list prices, free tier not subtracted; DynamoDB: one write unit per item "
                "written (items of up to 1 KB); S3 requests and storage not counted"
            ),
            "logs_insights_bytes_scanned": self.insights_bytes_scanned,
            "notes": self.notes,
        }


def build(
    function: str,
    since_ms: int,
    until_ms: int,
    usage: Usage,
    configured_memory_mb: int,
    failed_events: int | None,
    queue_name: str,
    prices: pricing.Prices,
    source: str,
    notes: list[str] | None = None,
) -> Stats:
    """Price the usage: Lambda from what was billed, DynamoDB from the items written."""
    write_units = usage.records["processed"] + usage.rejected_writes  # a rejected one is billed
    cost = pricing.estimate(usage.billed_mb_ms, usage.invocations, write_units, prices)
    return Stats(
        function=function,
        since_ms=since_ms,
        until_ms=until_ms,
        usage=usage,
        memory_size_mb=usage.memory_size_mb or configured_memory_mb,
        failed_events=failed_events,
        queue_name=queue_name,
        prices=prices,
        cost=cost,
        source=source,
        notes=list(notes or []),
    )


def memory_hint(max_used_mb: int, size_mb: int) -> str | None:
    """One line when the function looks over- or under-sized, else None."""
    if not max_used_mb or not size_mb:
        return None
    share = max_used_mb / size_mb
    if share >= 0.9:
        return (
            f"max memory used is {share:.0%} of {size_mb} MB: raise function.memory_mb "
            "before an invocation runs out of memory"
        )
    if size_mb > 128 and share < 0.4:
        enough = max(128, math.ceil(max_used_mb * 1.5 / 64) * 64)
        return (
            f"max memory used is only {share:.0%} of {size_mb} MB: function.memory_mb: {enough} "
            "would do (CPU scales with memory: compare the durations after the change)"
        )
    return None


def iso(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
