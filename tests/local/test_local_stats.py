"""`pipectl stats` on the embedded emulator, end to end: a handler that raises for some keys is
deployed from `function.source`, files are uploaded, and `stats --json` must agree with the log
lines read independently here (REPORT lines, `[ERROR]` lines, summary lines), whatever the
emulator does about retries and cold starts."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import boto3
import pytest
from emulator_helpers import free_port, wait_for

from pipectl.local import server

BUCKET = "serverless-data-input-123456789012-us-east-1"
GROUP = "/aws/lambda/serverless-data-processor"
GOOD = ["incoming/a.csv", "incoming/b b.csv", "incoming/c+é.csv", "incoming/d.csv"]
BAD = ["bad/e.csv", "bad/f.csv"]
REFUSING_HANDLER = '''

_process = lambda_handler


def lambda_handler(event, context):
    """pipectl's handler, except that it raises for keys under bad/ (a test of failures)."""
    for record in event.get("Records", []):
        key = unquote_plus(record["s3"]["object"]["key"])  # moto sends bad%2Fe.csv
        if key.startswith("bad/"):
            raise RuntimeError("refusing " + key)
    return _process(event, context)
'''
REPORT = re.compile(
    r"^REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms\s+"
    r"Memory Size: (\d+) MB\s+Max Memory Used: (\d+) MB"
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("pipectl-home")
    server.start(port=free_port(), home=path)
    yield path
    server.stop(home=path)


@pytest.fixture
def local_cli(cli, runtime, home, workdir):
    runtime.pipectl_home = home
    source = workdir / "refusing-handler"
    source.mkdir()
    handler = Path(__file__).resolve().parents[2] / "handler" / "app.py"
    (source / "app.py").write_text(handler.read_text() + REFUSING_HANDLER)
    (workdir / "pipectl.yaml").write_text(f"function:\n  source: {source}\n  timeout_s: 20\n")
    return cli


def log_messages(endpoint: str) -> list[str]:
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=GROUP)
    return [event["message"] for page in pages for event in page["events"]]


def nearest_rank(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(percent / 100 * len(ordered)) - 1]


def expected_from(messages: list[str]) -> dict:
    """What the log lines say, computed here without pipectl's parser."""
    reports = [REPORT.match(m).groups() for m in messages if REPORT.match(m)]
    durations = [float(r[1]) for r in reports]
    summaries = [json.loads(m) for m in messages if '"invocation summary"' in m]
    request_ids = [r[0] for r in reports]
    return {
        "invocations": len(reports),
        "retries": len(request_ids) - len(set(request_ids)),
        "errors": sum(1 for m in messages if re.match(r"\[ERROR\] RuntimeError: refusing", m)),
        "cold_starts": sum(1 for m in messages if m.startswith("REPORT") and "Init Duration" in m),
        "durations": durations,
        "billed_mb_ms": sum(int(r[2]) * int(r[3]) for r in reports),
        "processed": sum(s["processed"] for s in summaries),
        "max_memory_used_mb": max((int(r[4]) for r in reports), default=0),
    }


def test_stats_agrees_with_the_log_lines(local_cli, home):
    result = local_cli("up", "--local", "--json")
    assert result.exit_code == 0, result.stderr
    endpoint = server.status(home).endpoint_url
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for key in GOOD + BAD:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"a,b\n1,2\n")
    uploads = len(GOOD) + len(BAD)
    attempts = 1 + 2  # the emulator retries a failed async event MaximumRetryAttempts (2) times

    def settled() -> bool:
        """Every upload reported, and every failing one retried to the end."""
        expected = expected_from(log_messages(endpoint))
        return expected["invocations"] >= uploads + (attempts - 1) * len(BAD) and expected[
            "errors"
        ] == attempts * len(BAD)

    wait_for(settled, timeout_s=60, what=f"{uploads} uploads and their retries")
    before = log_messages(endpoint)
    stats = local_cli("stats", "--local", "--json")
    assert stats.exit_code == 0, stats.stderr
    assert log_messages(endpoint) == before, "nothing may run after the retries settled"
    doc = json.loads(stats.stdout)
    expected = expected_from(before)
    assert expected["retries"] == (attempts - 1) * len(BAD)

    assert doc["source"] == "log-events"
    # each upload once, each failing one again per retry: an emulator invoking twice would show
    assert doc["invocations"] == expected["invocations"] == uploads + (attempts - 1) * len(BAD)
    assert doc["errors"] == expected["errors"] == attempts * len(BAD)
    assert doc["retries"] == expected["retries"]
    assert doc["cold_starts"] == expected["cold_starts"]
    assert doc["records"]["processed"] == expected["processed"] == len(GOOD)
    durations = expected["durations"]
    assert doc["duration_ms"] == {
        "p50": nearest_rank(durations, 50),
        "p95": nearest_rank(durations, 95),
        "p99": nearest_rank(durations, 99),
        "max": max(durations),
    }
    assert doc["max_memory_used_mb"] == expected["max_memory_used_mb"]
    assert doc["memory_size_mb"] == 128

    prices = doc["prices_usd"]
    gb_seconds = expected["billed_mb_ms"] / 1024 / 1000
    lambda_usd = (
        gb_seconds * prices["lambda_gb_second"]
        + expected["invocations"] * prices["lambda_requests_per_million"] / 1e6
    )
    dynamodb_usd = expected["processed"] * prices["dynamodb_write_units_per_million"] / 1e6
    assert doc["cost_usd"]["lambda"] == pytest.approx(lambda_usd)
    assert doc["cost_usd"]["dynamodb"] == pytest.approx(dynamodb_usd)
    assert doc["cost_usd"]["total"] == pytest.approx(lambda_usd + dynamodb_usd)
    assert doc["cost_usd"]["total"] > 0
    assert doc["cost_per_1000_files_usd"] == pytest.approx(
        (lambda_usd + dynamodb_usd) / len(GOOD) * 1000
    )

    human = local_cli("stats", "--local", "--since", "15m")
    assert human.exit_code == 0, human.stderr
    assert f"errors         {expected['errors']} " in human.stderr
    assert f"{prices['lambda_gb_second']:.10f} per GB-s" in human.stderr
