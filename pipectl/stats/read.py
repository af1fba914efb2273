"""`pipectl stats`: where the numbers come from. Two ways to read the same log lines, chosen
automatically, and the on-failure queue's depth.

- On AWS: CloudWatch Logs Insights. Four StartQuery calls side by side (totals over REPORT lines,
  errors and summaries, invocations per minute, the duration histogram), polled with
  retry.poll. AWS aggregates; pipectl downloads a few rows however busy the function is, and pays
  $0.005 per GB scanned (shown). It is the fast, bounded way for a day of a busy function.
- Elsewhere (the emulator, any --endpoint-url): FilterLogEvents through logs.read_events, every
  REPORT / summary / error line, counted here. Bounded: at most MAX_EVENTS events are read, and
  the output says where it stopped. moto implements StartQuery, but only `fields`, `sort` and
  `limit`: a `stats` query comes back as raw rows (moto 5.2, moto/logs/logs_query), so Insights
  is never tried there. On AWS, if Insights is refused (no logs:StartQuery permission, a failed
  query) or answers in a shape pipectl does not expect, the events are read instead, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pipectl import logs, retry
from pipectl.aws import error_code, translate
from pipectl.context import Context
from pipectl.resources import queue
from pipectl.stats import pricing
from pipectl.stats import summary as stats
from pipectl.stats.summary import FILTER_PATTERN, Durations, Tally, Usage

MAX_EVENTS = 100_000  # FilterLogEvents returns up to 10,000 events a call: at most ~10 calls
INSIGHTS_DEADLINE_S = 60.0
INSIGHTS_BACKOFF = retry.Backoff(0.5, 1.5, 2.0)
LOG_EVENTS = "log-events"
LOGS_INSIGHTS = "logs-insights"
# Logs Insights reports Lambda's memory fields in bytes of 10^6 per MB (128 MB -> 1.28E8).
TOTALS_QUERY = """filter @type = "REPORT"
| parse @message /Status: (?<status>timeout|error|failure)/
| stats count(*) as invocations, count_distinct(@requestId) as request_ids,
    count(status) as failed_reports,
    count(@initDuration) as cold_starts, sum(@initDuration) as init_ms_total,
    max(@initDuration) as init_ms_max,
    sum(@billedDuration * @memorySize / 1000000) as billed_mb_ms,
    pct(@duration, 50) as p50, pct(@duration, 95) as p95, pct(@duration, 99) as p99,
    max(@duration) as max_ms,
    max(@maxMemoryUsed / 1000000) as max_memory_mb, max(@memorySize / 1000000) as memory_mb"""
LINES_QUERY = """filter @message like /Task timed out after|Runtime exited with error/
    or @message like /invocation summary/ or @message like /^\\[ERROR\\] [\\w.]+:/
| stats count(*) as lines, count(processed) as summaries,
    sum(processed) as processed, sum(skipped) as skipped, sum(failed) as failed,
    sum(rejected_writes) as rejected_writes"""
PER_MINUTE_QUERY = """filter @type = "REPORT"
| stats count(*) as invocations by bin(1m) as minute"""
# The same power-of-two buckets as stats.histogram_bucket (the epsilon keeps 2^k in bucket k).
HISTOGRAM_QUERY = """filter @type = "REPORT"
| fields floor(log(greatest(@duration, 1)) / 0.6931471805599453 + 0.000001) as bucket
| stats count(*) as invocations by bucket"""
QUERIES = {
    "totals": TOTALS_QUERY,
    "lines": LINES_QUERY,
    "per_minute": PER_MINUTE_QUERY,
    "histogram": HISTOGRAM_QUERY,
}
NO_INSIGHTS_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnknownOperationException",
    "InvalidAction",
    "NotImplemented",
    "LimitExceededException",  # too many concurrent queries in the account
    "MalformedQueryException",
}


class InsightsUnavailable(Exception):
    """Logs Insights cannot answer here; the reason is shown when falling back."""


@dataclass
class Reading:
    usage: Usage
    source: str
    truncated_at_ms: int | None = None  # events were read only up to here
    bytes_scanned: float | None = None
    note: str | None = None


def is_aws_endpoint(client: Any) -> bool:
    """The client talks to AWS itself (not the emulator, moto or another compatible endpoint)."""
    host = str(client.meta.endpoint_url).split("://", 1)[-1].split("/", 1)[0]
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def read_usage(
    client: Any,
    group: str,
    since_ms: int,
    until_ms: int,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    insights: bool | None = None,
) -> Reading:
    """The usage of `group` between `since_ms` and `until_ms`. `insights`: None chooses by
    endpoint; True/False forces a path (tests). Raises logs.LogGroupMissing."""
    if insights is None:
        insights = is_aws_endpoint(client)
    if insights:
        try:
            return read_with_insights(client, group, since_ms, until_ms, sleep, clock)
        except InsightsUnavailable as exc:
            reading = read_events(client, group, since_ms)
            reading.note = f"Logs Insights could not answer ({exc}): read the log events instead"
            return reading
    return read_events(client, group, since_ms)


def read_events(client: Any, group: str, since_ms: int, max_events: int = MAX_EVENTS) -> Reading:
    """Count the REPORT, summary and error lines from `since_ms` on, at most `max_events`."""
    counter = Tally()
    seen = 0
    last_ms: int | None = None
    for event in logs.read_events(client, group, since_ms, FILTER_PATTERN):
        if seen >= max_events:
            return Reading(counter.result(), LOG_EVENTS, truncated_at_ms=last_ms)
        counter.add(event)
        seen += 1
        last_ms = event.timestamp
    return Reading(counter.result(), LOG_EVENTS)


# Logs Insights ------------------------------------------------------------------------------


def read_with_insights(
    client: Any,
    group: str,
    since_ms: int,
    until_ms: int,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Reading:
    query_ids = {
        name: start_query(client, group, since_ms, until_ms, text) for name, text in QUERIES.items()
    }
    answers: dict[str, dict[str, Any]] = {}

    def all_complete() -> bool:
        for name, query_id in query_ids.items():
            if name not in answers:
                answer = client.get_query_results(queryId=query_id)
                status = answer.get("status")
                if status in {"Complete", "Failed", "Cancelled", "Timeout"}:
                    answers[name] = answer  # ended: nothing to stop
                if status != "Complete" and name in answers:
                    raise InsightsUnavailable(f"query {name} {status.lower()}")
        return len(answers) == len(query_ids)

    try:
        done = retry.poll(all_complete, INSIGHTS_DEADLINE_S, sleep, clock, INSIGHTS_BACKOFF)
    except Exception as exc:
        stop_queries(client, query_ids, answers)
        if isinstance(exc, InsightsUnavailable):
            raise
        raise translate(exc, "reading Logs Insights results") from None
    if not done:
        stop_queries(client, query_ids, answers)
        raise InsightsUnavailable(f"no answer within {INSIGHTS_DEADLINE_S:g} s")
    rows = {name: [row_fields(r) for r in a.get("results", [])] for name, a in answers.items()}
    scanned = sum(a.get("statistics", {}).get("bytesScanned", 0.0) for a in answers.values())
    return Reading(usage_from_rows(rows), LOGS_INSIGHTS, bytes_scanned=float(scanned))


def start_query(client: Any, group: str, since_ms: int, until_ms: int, text: str) -> str:
    try:
        response = client.start_query(
            logGroupName=group,
            startTime=since_ms // 1000,
            endTime=max(since_ms // 1000, -(-until_ms // 1000)),
            queryString=text,
        )
    except Exception as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            raise logs.LogGroupMissing(group) from None
        if code in NO_INSIGHTS_CODES:
            raise InsightsUnavailable(code) from None
        raise translate(exc, f"starting a Logs Insights query on {group}") from None
    return str(response["queryId"])


def stop_queries(client: Any, query_ids: dict[str, str], answered: dict[str, Any]) -> None:
    """Queries left running keep scanning (and costing): stop them, best effort."""
    for name, query_id in query_ids.items():
        if name in answered:
            continue
        try:
            client.stop_query(queryId=query_id)
        except Exception:  # noqa: BLE001 - a query that already ended cannot be stopped
            continue


def row_fields(row: list[dict[str, str]]) -> dict[str, str]:
    return {cell["field"]: cell.get("value", "") for cell in row if "field" in cell}


def usage_from_rows(rows: dict[str, list[dict[str, str]]]) -> Usage:
    """The four queries' rows as a Usage. A totals row without its fields means the endpoint
    ran the query without aggregating it (moto does): InsightsUnavailable."""
    totals = rows["totals"][0] if rows["totals"] else {}
    if totals and "invocations" not in totals:
        raise InsightsUnavailable("the answer has no aggregates")
    lines = rows["lines"][0] if rows["lines"] else {}
    usage = Usage(
        invocations=whole(totals.get("invocations")),
        request_ids=whole(totals.get("request_ids")),
        failed_reports=whole(totals.get("failed_reports")),
        error_lines=max(0, whole(lines.get("lines")) - whole(lines.get("summaries"))),
        cold_starts=whole(totals.get("cold_starts")),
        init_ms_total=number(totals.get("init_ms_total")),
        init_ms_max=number(totals.get("init_ms_max")),
        billed_mb_ms=number(totals.get("billed_mb_ms")),
        durations=Durations(
            number(totals.get("p50")),
            number(totals.get("p95")),
            number(totals.get("p99")),
            number(totals.get("max_ms")),
        ),
        max_memory_used_mb=round(number(totals.get("max_memory_mb"))),
        memory_size_mb=round(number(totals.get("memory_mb"))),
        records={name: whole(lines.get(name)) for name in ("processed", "skipped", "failed")},
        rejected_writes=whole(lines.get("rejected_writes")),
    )
    for row in rows["per_minute"]:
        minute = insights_time(row.get("minute", ""))
        if minute is not None:
            usage.per_minute[minute] = whole(row.get("invocations"))
    for row in rows["histogram"]:
        if row.get("bucket", "") != "":
            usage.histogram[max(0, whole(row["bucket"]))] = whole(row.get("invocations"))
    return usage


def number(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "") else 0.0
    except ValueError:
        return 0.0


def whole(value: str | None) -> int:
    return int(number(value))


def insights_time(text: str) -> int | None:
    """`2026-11-28 12:03:00.000` (UTC) as epoch seconds."""
    try:
        moment = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S.%f")
    except ValueError:
        return None
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


# The on-failure queue -----------------------------------------------------------------------


failed_events = queue.failed_events  # (sqs, queue name) -> waiting messages, None: no queue


# Everything for one window ------------------------------------------------------------------


def collect(
    ctx: Context,
    since_ms: int,
    until_ms: int,
    insights: bool | None = None,
) -> stats.Stats:
    """Read the window's usage and the queue's depth (side by side) and price them. A log group
    that does not exist yet means the function has not run: zeros and a note."""
    from concurrent.futures import ThreadPoolExecutor

    spec = ctx.spec
    group = ctx.log_group_name
    with ThreadPoolExecutor(max_workers=2) as pool:
        waiting = pool.submit(failed_events, ctx.client("sqs"), spec.queue_name)
        try:
            reading = read_usage(
                ctx.client("logs"), group, since_ms, until_ms, ctx.sleep, ctx.clock, insights
            )
            notes = [reading.note] if reading.note else []
        except logs.LogGroupMissing:
            reading = Reading(Usage(), LOG_EVENTS)
            notes = [f"log group {group} does not exist: the function has not run yet"]
        queued = waiting.result()
    prices, price_notes = pricing.prices_for(ctx.region, spec.function.architecture, spec.pricing)
    if reading.truncated_at_ms is not None:
        until_ms = reading.truncated_at_ms
        notes.append(
            f"stopped after {MAX_EVENTS:,} log events: the figures cover {stats.iso(since_ms)} "
            f"to {stats.iso(until_ms)} only (pass a shorter --since)"
        )
    result = stats.build(
        function=spec.function.name,
        since_ms=since_ms,
        until_ms=until_ms,
        usage=reading.usage,
        configured_memory_mb=spec.function.memory_mb,
        failed_events=queued,
        queue_name=spec.queue_name,
        prices=prices,
        source=reading.source,
        notes=notes + price_notes,
    )
    result.truncated = reading.truncated_at_ms is not None
    result.insights_bytes_scanned = reading.bytes_scanned
    return result
