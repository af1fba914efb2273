"""Failed events on the embedded emulator, end to end through pipectl's CLI: a handler (from
`function.source`) that fails for some keys → after the configured retries those events wait in
the on-failure queue → `status` counts them → the handler is fixed and `up` deploys it →
`replay --yes` processes them → items exist, the queue is empty, and a second replay finds
nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from emulator_helpers import wait_for

BUCKET = "serverless-data-input-123456789012-us-east-1"
QUEUE = "serverless-data-processor-failures"
GROUP = "/aws/lambda/serverless-data-processor"
RETRY_DELAY_S = 0.2
RETRIES = 1
GOOD = ["incoming/a.csv", "incoming/b b.csv"]
BAD = ["bad/c.csv", "bad/d+é.csv"]
REFUSING = '''

_process = lambda_handler


def lambda_handler(event, context):
    """pipectl's handler, except that it raises for keys under bad/ (a bug to fix later)."""
    for record in event.get("Records", []):
        if unquote_plus(record["s3"]["object"]["key"]).startswith("bad/"):
            raise RuntimeError("cannot handle " + record["s3"]["object"]["key"])
    return _process(event, context)
'''


@pytest.fixture(scope="module")
def emulator_env() -> dict[str, str]:
    return {"PIPECTL_LOCAL_RETRY_DELAY_S": str(RETRY_DELAY_S)}


@pytest.fixture
def local(cli, runtime, emulator, emulator_home, workdir):
    runtime.pipectl_home = emulator_home
    return cli


def run(cli, *args: str) -> tuple[int, dict]:
    result = cli(*args, "--local", "--json")
    assert result.stdout.strip(), result.stderr
    return result.exit_code, json.loads(result.stdout)


def report_ids(endpoint: str) -> list[str]:
    """The request id of every REPORT line: one per invocation, retries included."""
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=GROUP)
    messages = [event["message"] for page in pages for event in page["events"]]
    return [m.split()[2] for m in messages if re.match(r"REPORT RequestId: ", m)]


def test_failed_uploads_wait_in_the_queue_and_are_replayed_once_fixed(local, emulator, workdir):
    endpoint = emulator.endpoint_url
    handler = (Path(__file__).resolve().parents[2] / "handler" / "app.py").read_text()
    source = workdir / "handler"
    source.mkdir()
    (source / "app.py").write_text(handler + REFUSING)
    (workdir / "pipectl.yaml").write_text(
        f"function:\n  source: {source}\n  timeout_s: 20\n  max_retry_attempts: {RETRIES}\n"
    )
    code, doc = run(local, "up")
    assert code == 0, doc
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for key in GOOD + BAD:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"a,b\n1,2\n")

    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]

    def waiting() -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    wait_for(lambda: waiting() == len(BAD), timeout_s=60, what="the failed events in the queue")

    code, doc = run(local, "status")
    assert code == 0, doc
    assert {r["resource"]: r["failed_events"] for r in doc["resources"]}["queue"] == len(BAD)

    code, listed = run(local, "replay", "--dry-run")
    assert code == 0, listed
    assert sorted(key for e in listed["events"] for key in e["keys"]) == sorted(BAD)
    attempts = RETRIES + 1
    ids = report_ids(endpoint)
    for event in listed["events"]:
        assert event["condition"] == "RetriesExhausted"
        assert event["attempts"] == attempts
        assert event["error_type"] == "RuntimeError"
        assert ids.count(event["request_id"]) == attempts  # each attempt is in the log
    assert waiting() == len(BAD)  # a dry run leaves them

    (source / "app.py").write_text(handler)  # the fix
    code, doc = run(local, "up")
    assert code == 0, doc
    assert {c["resource"]: c["action"] for c in doc["changes"]}["function"] == "update"

    code, doc = run(local, "replay", "--yes")
    assert code == 0, doc
    assert (doc["ok"], doc["replayed"], doc["failed"], doc["remaining"]) == (True, 2, 0, 0)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    for key in GOOD + BAD:
        item = dynamodb.get_item(
            TableName="ProcessedResults", Key={"file_name": {"S": key}}, ConsistentRead=True
        )["Item"]
        assert item["status"] == {"S": "Processed"}, key
    assert waiting() == 0

    code, doc = run(local, "replay", "--yes")
    assert code == 0 and doc["messages"] == 0 and doc["remaining"] == 0

    code, doc = run(local, "down", "--yes", "--delete-data")
    assert code == 0, doc
