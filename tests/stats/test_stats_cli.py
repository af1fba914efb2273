"""`pipectl stats` through the CLI on a moto server: the JSON document, the human screen with its
unit prices, the config's prices, --watch bounded by an injected sleep, and bad input."""

from __future__ import annotations

import json
import time

import boto3
import pytest

GROUP = "/aws/lambda/serverless-data-processor"
STREAM = "2026/11/28/[$LATEST]0123456789abcdef0123456789abcdef"
REPORTS = [
    "REPORT RequestId: r1\tDuration: 0.84 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB"
    "\tMax Memory Used: 41 MB",
    "REPORT RequestId: r2\tDuration: 211.50 ms\tBilled Duration: 520 ms\tMemory Size: 128 MB"
    "\tMax Memory Used: 60 MB\tInit Duration: 308.02 ms",
]
SUMMARY = json.dumps(
    {
        "level": "INFO",
        "message": "invocation summary",
        "processed": 2,
        "skipped": 0,
        "failed": 0,
        "request_id": "r2",
        "duration_ms": 4.0,
    }
)


@pytest.fixture
def put(moto_url):
    client = boto3.client("logs", endpoint_url=moto_url, region_name="us-east-1")
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)

    def put(*messages: str) -> None:
        start = int(time.time() * 1000) - 120_000
        client.put_log_events(
            logGroupName=GROUP,
            logStreamName=STREAM,
            logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)],
        )

    return put


def test_json_is_one_document_with_the_promised_fields(cli, moto_url, put):
    put(REPORTS[0], SUMMARY, REPORTS[1], "[ERROR] ValueError: bad key")
    result = cli("stats", "--endpoint-url", moto_url, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["invocations"] == 2 and doc["errors"] == 1 and doc["cold_starts"] == 1
    assert doc["duration_ms"] == {"p50": 0.84, "p95": 211.5, "p99": 211.5, "max": 211.5}
    assert doc["records"] == {"processed": 2, "skipped": 0, "failed": 0}
    assert (doc["max_memory_used_mb"], doc["memory_size_mb"]) == (60, 128)
    assert doc["failed_events"] is None
    prices = doc["prices_usd"]
    gb_s = (1 + 520) * 128 / 1024 / 1000
    lam = gb_s * prices["lambda_gb_second"] + 2 * prices["lambda_requests_per_million"] / 1e6
    ddb = 2 * prices["dynamodb_write_units_per_million"] / 1e6
    assert doc["cost_usd"]["lambda"] == pytest.approx(lam)
    assert doc["cost_usd"]["total"] == pytest.approx(lam + ddb) and doc["cost_usd"]["total"] > 0
    assert doc["cost_per_1000_files_usd"] == pytest.approx((lam + ddb) / 2 * 1000)


def test_human_screen_shows_figures_charts_and_unit_prices(cli, moto_url, put):
    put(REPORTS[0], SUMMARY, REPORTS[1])
    result = cli("stats", "--endpoint-url", moto_url, "--since", "10m")
    assert result.exit_code == 0, result.stderr
    text = result.stderr
    assert "invocations    2  (0 retries, 1 cold starts)" in text
    assert "p50 0.84 ms · p95 212 ms" in text
    assert "cold starts    1 (50%), init avg 308 ms" in text
    assert "$0.0000166667 per GB-s" in text and "$0.20 per 1M" in text and "$0.625 per 1M" in text
    assert "free tier not subtracted" in text and "not counted" in text
    assert "throughput per minute" in text and "peak 2" in text
    assert "0-2 █" in text  # the histogram: 0.84 ms in the first bucket


def test_config_prices_are_used_and_named(cli, moto_url, put, workdir):
    (workdir / "pipectl.yaml").write_text(
        "pricing:\n  lambda_requests_per_million: 1\n  dynamodb_write_units_per_million: 2.5\n"
    )
    put(REPORTS[0], SUMMARY)
    doc = json.loads(cli("stats", "--endpoint-url", moto_url, "--json").stdout)
    assert doc["prices_usd"]["lambda_requests_per_million"] == 1.0
    assert doc["cost_usd"]["dynamodb"] == pytest.approx(2 * 2.5 / 1e6)
    assert "pricing.dynamodb_write_units_per_million" in doc["prices_usd"]["source"]


def test_no_log_group_is_zeros_and_a_note(cli, moto_url):
    result = cli("stats", "--endpoint-url", moto_url, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["invocations"] == 0 and doc["cost_usd"]["total"] == 0
    assert any("has not run yet" in n for n in doc["notes"])
    human = cli("stats", "--endpoint-url", moto_url)
    assert human.exit_code == 0 and "has not run yet" in human.stderr


def test_an_empty_window_is_zeros(cli, moto_url, put):
    put(REPORTS[0])  # two minutes ago
    doc = json.loads(cli("stats", "--endpoint-url", moto_url, "--since", "30s", "--json").stdout)
    assert doc["invocations"] == 0 and doc["duration_ms"]["max"] == 0.0


def test_watch_redraws_until_ctrl_c_and_exits_0(cli, moto_url, put, runtime):
    put(REPORTS[0])
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 1:
            put(REPORTS[1])  # arrives between two refreshes
        else:
            raise KeyboardInterrupt

    runtime.timing.sleep = sleep
    result = cli("stats", "--endpoint-url", moto_url, "--watch")
    assert result.exit_code == 0, result.stderr
    assert slept == [10.0, 10.0]  # the log-events path refreshes every 10 s
    assert "invocations    2" in result.stderr  # the second refresh saw the new invocation
    assert runtime.last_aws.calls.calls.count("logs.FilterLogEvents") == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "yesterday"], "--since"),
        (["--since", "5 minutes"], "--since"),
        (["--watch", "--json"], "--watch"),
        (["--local", "--endpoint-url", "http://x:1"], "--local"),
    ],
)
def test_bad_input_exits_2_before_any_aws_call(cli, runtime, args, needle):
    result = cli("stats", *args)
    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert runtime.last_aws is None or runtime.last_aws.calls.calls == []
