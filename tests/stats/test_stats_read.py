"""Where `pipectl stats` reads from: FilterLogEvents on moto (real responses), Logs Insights with
answers injected through botocore's event system (moto's StartQuery does not aggregate), the
fall-backs between them, the bound on events read, and the on-failure queue's depth."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from pipectl import logs
from pipectl.aws import Aws, Target
from pipectl.config.model import Spec
from pipectl.context import Context
from pipectl.stats import read as stats_read

GROUP = "/aws/lambda/serverless-data-processor"
STREAM = "2026/11/28/[$LATEST]0123456789abcdef0123456789abcdef"


def report(rid: str, duration: float, billed: int, init: float | None = None) -> str:
    line = (
        f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 45 MB"
    )
    return line + (f"\tInit Duration: {init:.2f} ms" if init else "")


def summary(processed: int, failed: int = 0) -> str:
    return json.dumps(
        {
            "level": "INFO",
            "message": "invocation summary",
            "processed": processed,
            "skipped": 0,
            "failed": failed,
            "request_id": "r",
            "duration_ms": 1.0,
        }
    )


@pytest.fixture
def aws(moto_url) -> Aws:
    return Aws(Target(region="us-east-1", endpoint_url=moto_url))


@pytest.fixture
def group(moto_url):
    client = boto3.client("logs", endpoint_url=moto_url, region_name="us-east-1")
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)

    def put(*messages: str, at: int | None = None) -> None:
        start = int(time.time() * 1000) - 60_000 if at is None else at
        client.put_log_events(
            logGroupName=GROUP,
            logStreamName=STREAM,
            logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)],
        )

    return put


def now_ms() -> int:
    return int(time.time() * 1000)


# FilterLogEvents (moto) ----------------------------------------------------------------------


def test_log_events_path_counts_what_moto_returns(aws, group):
    group(
        "START RequestId: a Version: $LATEST",
        summary(3),
        "END RequestId: a",
        report("a", 12.5, 13, init=250.0),
        "[ERROR] RuntimeError: boom",
        report("b", 3.2, 4),
        report("b", 2.9, 3),  # the retry
        "just a print",
    )
    reading = stats_read.read_usage(
        aws.client("logs"), GROUP, now_ms() - 3_600_000, now_ms(), time.sleep, time.monotonic
    )
    usage = reading.usage
    assert reading.source == "log-events" and reading.truncated_at_ms is None
    assert (usage.invocations, usage.errors, usage.retries, usage.cold_starts) == (3, 1, 1, 1)
    assert usage.records["processed"] == 3
    assert usage.durations.p50 == 3.2 and usage.durations.max == 12.5
    assert usage.billed_mb_ms == (13 + 4 + 3) * 128
    assert aws.calls.calls == ["logs.FilterLogEvents"]  # never StartQuery on an emulator


def test_log_events_path_stops_at_its_bound_and_says_where(aws, group):
    base = now_ms() - 50_000
    group(*[report(f"r{i}", 1.0, 1) for i in range(7)], at=base)
    reading = stats_read.read_events(aws.client("logs"), GROUP, base - 1000, max_events=5)
    assert reading.usage.invocations == 5
    assert reading.truncated_at_ms == base + 4


def test_a_missing_log_group_is_reported_as_such(aws):
    with pytest.raises(logs.LogGroupMissing):
        stats_read.read_usage(aws.client("logs"), GROUP, 0, now_ms(), time.sleep, time.monotonic)


def test_moto_runs_insights_queries_without_aggregating_so_pipectl_falls_back(aws, group):
    """moto 5.2's StartQuery answers a `stats` query with raw rows: forced onto Insights,
    pipectl sees no aggregates and reads the events instead, saying why."""
    group(report("a", 5.0, 5), summary(1))
    reading = stats_read.read_usage(
        aws.client("logs"),
        GROUP,
        now_ms() - 600_000,
        now_ms(),
        time.sleep,
        time.monotonic,
        insights=True,
    )
    assert reading.source == "log-events" and "no aggregates" in reading.note
    assert reading.usage.invocations == 1 and reading.usage.records["processed"] == 1
    assert aws.calls.calls.count("logs.StartQuery") == 4


def test_only_aws_endpoints_get_insights(moto_url):
    session = boto3.Session(region_name="eu-west-1")
    assert stats_read.is_aws_endpoint(session.client("logs"))
    assert not stats_read.is_aws_endpoint(session.client("logs", endpoint_url=moto_url))


# Logs Insights (injected answers) -------------------------------------------------------------


def cells(**fields) -> list[dict[str, str]]:
    return [{"field": name, "value": str(value)} for name, value in fields.items()]


ANSWERS = {
    "totals": [
        cells(
            invocations=40,
            request_ids=38,
            failed_reports=1,
            cold_starts=3,
            init_ms_total=750.0,
            init_ms_max=300.5,
            billed_mb_ms=40 * 120 * 128.0,
            p50=101.5,
            p95=180.25,
            p99=240.0,
            max_ms=250.0,
            max_memory_mb=71.3,
            memory_mb=128.0,
        )
    ],
    "lines": [cells(lines=42, summaries=38, processed=37, skipped=1, failed=2)],
    "per_minute": [
        cells(minute="2026-11-28 12:03:00.000", invocations=25),
        cells(minute="2026-11-28 12:04:00.000", invocations=15),
    ],
    "histogram": [cells(bucket=6, invocations=30), cells(bucket=7, invocations=10)],
}


class Insights:
    """Answers StartQuery / GetQueryResults / StopQuery from a script, before any request is
    sent (a `before-call` handler that returns a response short-circuits the call)."""

    def __init__(self, running_polls: int = 1, status: str = "Complete", answers=None) -> None:
        self.running_polls = running_polls
        self.status = status
        self.answers = answers or ANSWERS
        self.queries: dict[str, str] = {}  # query id -> name
        self.polls = 0
        self.stopped: list[str] = []
        self.started: list[dict] = []

    def hook(self, client) -> None:
        client.meta.events.register("before-call.cloudwatch-logs.*", self.answer)

    def answer(self, model, params, **_):
        from botocore.awsrequest import AWSResponse

        ok = AWSResponse("https://logs.invalid", 200, {}, None)
        params = json.loads(params["body"])  # before-call sees the serialized request
        if model.name == "StartQuery":
            name = next(n for n, q in stats_read.QUERIES.items() if q == params["queryString"])
            query_id = f"q-{name}"
            self.queries[query_id] = name
            self.started.append(params)
            return ok, {"queryId": query_id}
        if model.name == "GetQueryResults":
            self.polls += 1
            if self.polls <= self.running_polls * len(stats_read.QUERIES):
                return ok, {"status": "Running", "results": []}
            name = self.queries[params["queryId"]]
            return ok, {
                "status": self.status,
                "results": self.answers[name],
                "statistics": {"bytesScanned": 1_500_000.0},
            }
        if model.name == "StopQuery":
            self.stopped.append(params["queryId"])
            return ok, {"success": True}
        return None


def insights_read(
    insights: Insights,
    fake_clock,
    since_ms: int = 1_000_000_000_000,
    endpoint: str = "https://logs.invalid",
    use_insights: bool | None = True,
):
    """An hour's read through a client answered by `insights`; `use_insights=None` leaves the
    choice to read_usage (by the endpoint)."""
    aws = Aws(Target(region="us-east-1", endpoint_url=endpoint), [insights.hook])
    reading = stats_read.read_usage(
        aws.client("logs"),
        GROUP,
        since_ms,
        since_ms + 3_600_000,
        fake_clock.sleep,
        fake_clock.clock,
        insights=use_insights,
    )
    return reading, aws


def last_ten_minutes_with_insights(moto_url, hooks, fake_clock):
    """read_usage forced onto Logs Insights, through a client with `hooks`, on the fake clock."""
    aws = Aws(Target(region="us-east-1", endpoint_url=moto_url), hooks)
    return stats_read.read_usage(
        aws.client("logs"),
        GROUP,
        now_ms() - 600_000,
        now_ms(),
        fake_clock.sleep,
        fake_clock.clock,
        insights=True,
    )


def test_insights_answers_become_the_same_usage(fake_clock):
    insights = Insights(running_polls=2)
    reading, aws = insights_read(insights, fake_clock)
    usage = reading.usage
    assert reading.source == "logs-insights"
    assert (usage.invocations, usage.retries, usage.cold_starts) == (40, 2, 3)
    assert usage.errors == 4  # 42 matching lines less 38 summaries; more than 1 failed REPORT
    assert usage.records == {"processed": 37, "skipped": 1, "failed": 2}
    assert usage.durations.as_json() == {"p50": 101.5, "p95": 180.25, "p99": 240.0, "max": 250.0}
    assert (usage.max_memory_used_mb, usage.memory_size_mb) == (71, 128)
    assert usage.init_ms_avg == 250.0 and usage.billed_mb_ms == 40 * 120 * 128
    assert usage.per_minute == {1795867380: 25, 1795867440: 15}
    assert usage.histogram == {6: 30, 7: 10}
    assert reading.bytes_scanned == 4 * 1_500_000.0
    assert fake_clock.sleeps == [0.5, 0.75]  # two rounds of "Running", polled with backoff
    assert [p["startTime"] for p in insights.started] == [1_000_000_000] * 4
    assert {p["endTime"] for p in insights.started} == {1_000_003_600}
    assert aws.calls.calls.count("logs.FilterLogEvents") == 0


def test_insights_empty_window_is_zeros(fake_clock):
    empty = {"totals": [], "lines": [], "per_minute": [], "histogram": []}
    reading, _ = insights_read(Insights(answers=empty), fake_clock)
    assert reading.usage.invocations == 0 and reading.usage.errors == 0
    assert reading.usage.durations.max == 0.0


@pytest.mark.parametrize("status", ["Failed", "Timeout"])
def test_a_failed_query_falls_back_to_the_events(moto_url, group, fake_clock, status):
    insights = Insights(status=status)
    group(report("a", 5.0, 5))
    reading = last_ten_minutes_with_insights(moto_url, [insights.hook], fake_clock)
    assert reading.source == "log-events" and status.lower() in reading.note
    assert reading.usage.invocations == 1
    assert len(insights.stopped) == 3  # the other queries are stopped, not left scanning


def test_no_answer_by_the_deadline_stops_the_queries_and_falls_back(moto_url, group, fake_clock):
    insights = Insights(running_polls=10_000)
    reading = last_ten_minutes_with_insights(moto_url, [insights.hook], fake_clock)
    assert "no answer within 60 s" in reading.note
    assert sorted(insights.stopped) == sorted(insights.queries)
    assert fake_clock.now == pytest.approx(stats_read.INSIGHTS_DEADLINE_S)


def test_insights_access_denied_falls_back(moto_url, group, faults, fake_clock):
    faults.add("logs.StartQuery", "AccessDeniedException", "not authorized: logs:StartQuery")
    group(report("a", 5.0, 5))
    reading = last_ten_minutes_with_insights(moto_url, [faults.hook], fake_clock)
    assert reading.source == "log-events" and "AccessDeniedException" in reading.note
    assert reading.usage.invocations == 1


def test_insights_on_a_missing_group_is_log_group_missing(fake_clock, moto_url):
    aws = Aws(Target(region="us-east-1", endpoint_url=moto_url))
    with pytest.raises(logs.LogGroupMissing):
        stats_read.read_with_insights(
            aws.client("logs"), GROUP, 0, now_ms(), fake_clock.sleep, fake_clock.clock
        )


# the on-failure queue ------------------------------------------------------------------------


def test_failed_events_waiting_in_the_queue(aws, moto_url):
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    name = Spec().queue_name
    assert stats_read.failed_events(aws.client("sqs"), name) is None
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    assert stats_read.failed_events(aws.client("sqs"), name) == 3


def test_collect_with_no_log_group_is_zeros_and_a_note(aws):
    ctx = Context(aws, Spec(), "us-east-1")
    result = stats_read.collect(ctx, now_ms() - 3_600_000, now_ms())
    doc = result.as_json()
    assert doc["invocations"] == 0 and doc["cost_usd"]["total"] == 0.0
    assert doc["failed_events"] is None
    assert any("has not run yet" in note for note in doc["notes"])


def test_an_aws_endpoint_chooses_insights_by_itself(fake_clock):
    """Without `insights=`, a client of AWS's own endpoint reads through Logs Insights (the
    emulator's path, FilterLogEvents, is chosen by test_log_events_path_* on moto)."""
    endpoint = "https://logs.us-east-1.amazonaws.com"
    reading, aws = insights_read(Insights(), fake_clock, endpoint=endpoint, use_insights=None)
    assert reading.source == "logs-insights"
    assert aws.calls.calls.count("logs.StartQuery") == len(stats_read.QUERIES)
    assert "logs.FilterLogEvents" not in aws.calls.calls
    assert reading.usage.invocations == 40
