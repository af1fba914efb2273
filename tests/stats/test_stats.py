"""`pipectl stats`, the numbers: REPORT lines, errors, retries, records and percentiles, from
known log lines (formats: Lambda's REPORT line; awslambdaric's `[ERROR] Type: message`)."""

from __future__ import annotations

import json

import pytest

from pipectl.logs import LogEvent
from pipectl.stats import pricing
from pipectl.stats import summary as core

RID = "0f3c2d1e-aaaa-bbbb-cccc-1234567890ab"
WARM_1MS = f"REPORT RequestId: {RID}\tDuration: 0.84 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t"  # noqa: E501
COLD = (
    "REPORT RequestId: b2\tDuration: 102.31 ms\tBilled Duration: 350 ms\tMemory Size: 256 MB"
    "\tMax Memory Used: 80 MB\tInit Duration: 247.55 ms"
)
TIMEOUT = (
    "REPORT RequestId: c3 Duration: 3000.00 ms Billed Duration: 3000 ms Memory Size: 128 MB "
    "Max Memory Used: 50 MB Status: timeout"
)


def event(message: str, at: int = 1_800_000_000_000, stream: str = "s1") -> LogEvent:
    return LogEvent(at, stream, message, str(hash((message, at))))


def summary(processed: int, skipped: int = 0, failed: int = 0, rejected: int = 0) -> str:
    return json.dumps(
        {
            "level": "ERROR" if failed else "INFO",
            "message": "invocation summary",
            "processed": processed,
            "skipped": skipped,
            "failed": failed,
            "rejected_writes": rejected,
            "request_id": RID,
            "duration_ms": 3.1,
        }
    )


# REPORT lines -------------------------------------------------------------------------------


def test_parse_a_warm_report_line():
    report = core.parse_report(WARM_1MS)
    assert report == core.Report(RID, 0.84, 1, 128, 40, None, None)
    assert not report.failed


def test_parse_a_cold_start_and_a_timeout():
    cold = core.parse_report(COLD)
    assert (cold.init_ms, cold.billed_ms, cold.memory_mb) == (247.55, 350, 256)
    timeout = core.parse_report(TIMEOUT)
    assert timeout.status == "timeout" and timeout.failed


def test_a_report_with_an_error_status_and_type():
    line = COLD + "\tStatus: error\tError Type: Runtime.ExitError"
    report = core.parse_report(line)
    assert report.status == "error" and report.failed and report.init_ms == 247.55


@pytest.mark.parametrize(
    "message",
    ["START RequestId: x Version: $LATEST", "END RequestId: x", "REPORT of the week", ""],
)
def test_other_lines_are_not_reports(message):
    assert core.parse_report(message) is None


@pytest.mark.parametrize(
    ("message", "is_error"),
    [
        ("[ERROR] RecordsFailedError: 1 of 2 records failed\rTraceback (most recent...", True),
        ("[ERROR] Runtime.ImportModuleError: Unable to import module 'app'", True),
        (f"2026-11-28T12:00:03.000Z {RID} Task timed out after 3.00 seconds", True),
        (f"RequestId: {RID} Error: Runtime exited with error: signal: killed", True),
        # logging.error() in the function: a tab after [ERROR], and the invocation may succeed
        (f"[ERROR]\t2026-11-28T12:00:00.000Z\t{RID}\tcould not reach the API", False),
        ('{"level": "ERROR", "message": "record failed", "key": "a"}', False),
        ("Traceback (most recent call last):", False),
    ],
)
def test_runtime_error_lines(message, is_error):
    assert core.is_runtime_error(message) is is_error


# tally: log events -> usage -----------------------------------------------------------------


def test_tally_counts_invocations_errors_cold_starts_records_and_memory():
    usage = core.tally(
        [
            event(WARM_1MS),
            event(summary(2, skipped=1)),
            event(COLD),
            event("[ERROR] RuntimeError: boom"),
            event(TIMEOUT),
            event("2026-11-28T12:00:03.000Z c3 Task timed out after 3.00 seconds"),
            event(summary(0, failed=1)),
            event("START RequestId: x Version: $LATEST"),
        ]
    )
    assert usage.invocations == 3
    assert usage.errors == 2  # the exception and the timeout; the timeout counted once
    assert usage.cold_starts == 1 and usage.init_ms_avg == 247.55
    assert usage.records == {"processed": 2, "skipped": 1, "failed": 1}
    assert usage.max_memory_used_mb == 80 and usage.memory_size_mb == 256
    assert usage.billed_mb_ms == 1 * 128 + 350 * 256 + 3000 * 128


def test_errors_are_not_double_counted_when_reports_carry_a_status():
    """Runtimes that write `Status: timeout` in the REPORT line also print the timeout line."""
    usage = core.tally(
        [event(TIMEOUT), event("2026-11-28T12:00:03Z c3 Task timed out after 3.00 seconds")]
    )
    assert (usage.failed_reports, usage.error_lines, usage.errors) == (1, 1, 1)


def test_a_retried_request_id_counts_as_a_retry():
    """Lambda retries an async invocation with the same request id, maybe in another stream."""
    first = WARM_1MS
    usage = core.tally(
        [
            event(first, at=1),
            event("[ERROR] RuntimeError: boom", at=2),
            event(first, at=60_001, stream="s2"),
            event(first, at=180_001, stream="s1"),
            event(COLD, at=180_002),
        ]
    )
    assert usage.invocations == 4 and usage.request_ids == 2 and usage.retries == 2
    assert usage.per_minute == {0: 1, 60: 1, 180: 2}


def test_summary_lines_with_odd_counts_add_nothing():
    line = json.dumps({"message": "invocation summary", "processed": "3", "failed": -1})
    assert core.tally([event(line)]).records == {"processed": 0, "skipped": 0, "failed": 0}


def test_an_empty_window_is_all_zeros():
    usage = core.tally([])
    assert (usage.invocations, usage.errors, usage.retries, usage.cold_starts) == (0, 0, 0, 0)
    assert usage.durations.as_json() == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}


# percentiles and the histogram --------------------------------------------------------------


def test_nearest_rank_percentiles_on_1_to_100():
    durations = core.Durations.of(float(n) for n in range(100, 0, -1))
    assert durations.as_json() == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([7.0], (7.0, 7.0, 7.0, 7.0)),
        ([0.84, 102.31, 3000.0], (102.31, 3000.0, 3000.0, 3000.0)),
        ([float(n) for n in range(1, 21)], (10.0, 19.0, 20.0, 20.0)),  # ceil(0.95*20) = 19
    ],
)
def test_nearest_rank_percentiles_are_observed_values(values, expected):
    d = core.Durations.of(values)
    assert (d.p50, d.p95, d.p99, d.max) == expected


@pytest.mark.parametrize(
    ("duration", "bucket"), [(0.2, 0), (1.0, 0), (1.99, 0), (2.0, 1), (8.0, 3), (1023.9, 9)]
)
def test_histogram_buckets_are_powers_of_two(duration, bucket):
    assert core.histogram_bucket(duration) == bucket


# the figures as a document ------------------------------------------------------------------


def build(usage: core.Usage, since_ms: int = 0, until_ms: int = 3_600_000) -> core.Stats:
    prices, _ = pricing.prices_for("us-east-1", "x86_64")
    return core.build("fn", since_ms, until_ms, usage, 128, None, "fn-failures", prices, "x")


def test_document_has_the_promised_keys_and_the_hand_computed_cost():
    usage = core.tally([event(WARM_1MS), event(COLD), event(TIMEOUT), event(summary(2))])
    doc = build(usage).as_json()
    promised = {
        "since",
        "invocations",
        "errors",
        "cold_starts",
        "duration_ms",
        "max_memory_used_mb",
        "memory_size_mb",
        "records",
        "failed_events",
        "cost_usd",
        "cost_per_1000_files_usd",
    }
    assert promised <= set(doc)
    assert doc["since"] == "1970-01-01T00:00:00Z"
    gb_s = (1 * 128 + 350 * 256 + 3000 * 128) / 1024 / 1000  # Billed Duration only: no init
    lam = gb_s * 0.0000166667 + 3 * 0.20 / 1e6
    ddb = 2 * 0.625 / 1e6
    assert doc["billed_gb_seconds"] == pytest.approx(0.462625)
    assert doc["cost_usd"] == pytest.approx({"lambda": lam, "dynamodb": ddb, "total": lam + ddb})
    assert doc["cost_per_1000_files_usd"] == pytest.approx((lam + ddb) / 2 * 1000)
    assert doc["cost_per_month_usd"] == pytest.approx((lam + ddb) * 730)  # a 1 h window
    assert doc["memory_size_mb"] == 256 and doc["failed_events"] is None


def test_writes_the_condition_rejected_are_billed_as_writes():
    """DynamoDB charges a write request unit for a conditional write whose condition fails
    (pricing.py cites the on-demand pricing page), so duplicates and stale events cost too."""
    usage = core.tally([event(summary(3, skipped=4, rejected=2))])  # 2 of the 4 by the condition
    assert usage.records == {"processed": 3, "skipped": 4, "failed": 0}
    assert usage.rejected_writes == 2
    doc = build(usage).as_json()
    assert doc["dynamodb_write_units_estimated"] == 5
    assert doc["cost_usd"]["dynamodb"] == pytest.approx(5 * 0.625 / 1e6)


def test_document_of_an_empty_window_is_zeros_with_the_configured_memory():
    doc = build(core.Usage()).as_json()
    assert doc["invocations"] == 0 and doc["memory_size_mb"] == 128
    assert doc["cost_usd"] == {"lambda": 0.0, "dynamodb": 0.0, "total": 0.0}
    assert doc["cost_per_1000_files_usd"] == 0.0 and doc["duration_histogram"] == []


@pytest.mark.parametrize(
    ("used", "size", "says"),
    [
        (120, 128, "raise function.memory_mb"),
        (60, 1024, "function.memory_mb: 128 would do"),
        (300, 1024, "function.memory_mb: 512 would do"),
        (40, 128, None),  # already the smallest size
        (600, 1024, None),
        (0, 128, None),
    ],
)
def test_memory_hint(used, size, says):
    hint = core.memory_hint(used, size)
    assert (hint is None) if says is None else (says in hint)
