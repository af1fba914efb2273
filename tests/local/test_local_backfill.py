"""`pipectl backfill` and `pipectl results` end to end on the embedded emulator, through the CLI:
objects uploaded before the trigger existed are processed by the deployed function (the Invoke
is asynchronous, as on AWS), and a second run has nothing left to send."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from emulator_helpers import free_port, wait_for

from pipectl.local import server

BUCKET = "serverless-data-input-123456789012-us-east-1"
TABLE = "ProcessedResults"
KEYS = [
    "top level.txt",
    "c+d.txt",
    "100% done.csv",
    "incoming/red flower é.jpg",
    "incoming/2026/11/28/deep/er/report 1+1.csv",
    "incoming/2026/11/29/日本語.txt",
    "archive/a/b/c/d/e/f.bin",
] + [f"bulk/{i % 3}/file {i}.dat" for i in range(9)]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("pipectl-home")
    server.start(port=free_port(), home=path)
    yield path
    server.stop(home=path)


@pytest.fixture
def local_cli(cli, runtime, home):
    runtime.pipectl_home = home
    return cli


@pytest.fixture
def clients(home) -> dict[str, Any]:
    url = server.status(home).endpoint_url
    return {name: boto3.client(name, endpoint_url=url) for name in ("s3", "dynamodb", "logs")}


def small_pages(client: Any) -> None:
    """At most 3 keys per listing page (the paginator's requests only: a Delimiter request, how
    backfill splits the bucket into parts, keeps S3's 1,000)."""

    def set_max_keys(params: dict[str, Any], **_: Any) -> None:
        if "Delimiter" not in params:
            params["MaxKeys"] = 3

    client.meta.events.register("before-parameter-build.s3.ListObjectsV2", set_max_keys)


def run(local_cli, *args: str) -> dict[str, Any]:
    result = local_cli(*args, "--local", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def item(clients: dict[str, Any], key: str) -> dict[str, Any] | None:
    response = clients["dynamodb"].get_item(TableName=TABLE, Key={"file_name": {"S": key}})
    return response.get("Item")


def all_items(clients: dict[str, Any], keys: list[str]) -> bool:
    return all(item(clients, key) for key in keys)


def test_backfill_processes_what_was_there_before_the_trigger(local_cli, runtime, clients):
    s3 = clients["s3"]
    s3.create_bucket(Bucket=BUCKET)
    for key in KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=f"old {key}".encode())
    assert run(local_cli, "up")["ok"] is True
    assert not any(item(clients, key) for key in KEYS)  # no trigger then: nothing processed
    runtime.hooks.append(small_pages)

    dry = run(local_cli, "backfill", "--dry-run")
    assert dry["would_dispatch"] == len(KEYS) and sorted(dry["keys"]) == sorted(KEYS)
    assert "lambda.Invoke" not in runtime.last_aws.calls.summary()
    assert runtime.last_aws.calls.summary()["s3.ListObjectsV2"] > len(KEYS) / 3  # many pages

    first = run(local_cli, "backfill", "--yes", "--batch-size", "5")
    assert (first["objects"], first["dispatched"], first["failed"]) == (len(KEYS), len(KEYS), 0)
    assert first["invocations"] == runtime.last_aws.calls.summary()["lambda.Invoke"] >= 4
    wait_for(lambda: all_items(clients, KEYS), 60, "an item for every object")
    for key in KEYS:
        written = item(clients, key)
        assert written["status"]["S"] == "Processed" and written["source"]["S"] == "backfill"
        assert written["backfill_run_id"]["S"] == first["run_id"]
    assert item(clients, "incoming/red flower é.jpg")["bucket"]["S"] == BUCKET

    second = run(local_cli, "backfill", "--yes")
    assert (second["dispatched"], second["skipped"], second["invocations"]) == (0, len(KEYS), 0)
    assert "lambda.Invoke" not in runtime.last_aws.calls.summary()

    # re-uploaded after `up`: the trigger processes it; backfill --all keeps that upload's item
    key = "incoming/red flower é.jpg"
    newer = s3.put_object(Bucket=BUCKET, Key=key, Body=b"newer content")["ETag"].strip('"')
    wait_for(lambda: item(clients, key)["etag"]["S"] == newer, 30, "the re-upload's item")
    again = run(local_cli, "backfill", "--yes", "--all")
    assert again["dispatched"] == len(KEYS)
    wait_for(lambda: all_items(clients, KEYS), 60, "the items")
    assert item(clients, key)["etag"]["S"] == newer
    assert item(clients, key)["size"]["N"] == str(len(b"newer content"))

    listed = run(local_cli, "results", "--prefix", "incoming/", "--limit", "2")
    assert listed["count"] == 2
    assert all(i["file_name"].startswith("incoming/") for i in listed["items"])


def test_a_backfill_record_never_overwrites_a_newer_upload(local_cli, runtime, clients):
    """The object is re-uploaded after backfill listed it and before its event reached the
    function: the record describes the older version and must not replace the newer item."""
    s3 = clients["s3"]
    run(local_cli, "up")
    key = "race/photo 1+é.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"first version")
    wait_for(lambda: item(clients, key), 30, "the first upload's item")
    newer_etag: list[str] = []
    once = threading.Lock()

    def reupload_before_invoking(model: Any, **_: Any) -> None:
        if model.name == "Invoke" and once.acquire(blocking=False):
            body = b"second, newer version"
            newer_etag.append(s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"'))
            wait_for(lambda: item(clients, key)["etag"]["S"] == newer_etag[0], 30, "new item")

    def hook(client: Any) -> None:
        client.meta.events.register("before-call.lambda.Invoke", reupload_before_invoking)

    runtime.hooks.append(hook)
    doc = run(local_cli, "backfill", "--yes", "--all", "--prefix", "race/")
    assert doc["dispatched"] == 1

    # the invocation is asynchronous: wait for the handler's line about the backfill record (log
    # streams interleave by timestamp, so it need not be the last line about the key)
    def backfill_lines() -> list[str]:
        return [line for line in record_lines(clients, key) if '"source": "backfill"' in line]

    wait_for(backfill_lines, 30, "the backfill record's log line")
    kept = item(clients, key)
    assert kept["etag"]["S"] == newer_etag[0] and kept["source"]["S"] == "s3"
    [line] = backfill_lines()
    assert "newer_item_or_duplicate" in line


def record_lines(clients: dict[str, Any], key: str) -> list[str]:
    """The handler's per-record log lines about `key` (two uploads, then the backfill)."""
    events = clients["logs"].filter_log_events(
        logGroupName="/aws/lambda/serverless-data-processor"
    )["events"]
    return [e["message"] for e in events if f'"key": "{key}"' in e["message"]]
