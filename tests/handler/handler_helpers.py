"""Builders and readers shared by the handler tests: events shaped exactly like S3's (and like
`pipectl backfill` sends them), the handler loaded by path, items read back from moto."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest

APP_PATH = Path(__file__).resolve().parents[2] / "handler" / "app.py"
TABLE = "pipectl-test-items"
BUCKET = "serverless-data-input-123456789012-us-east-1"
CONTEXT = SimpleNamespace(aws_request_id="req-0001")
EVENT_TIME = "2026-11-28T12:00:00.000Z"

# The sample event from /work/shared/aws-notes.md, verbatim.
SAMPLE_EVENT: dict[str, Any] = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-28T12:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.10"},
            "responseElements": {
                "x-amz-request-id": "C3D13FE58DE4C810",
                "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "pipectl-serverless-data",
                "bucket": {
                    "name": BUCKET,
                    "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                    "arn": f"arn:aws:s3:::{BUCKET}",
                },
                "object": {
                    "key": "incoming/red+flower+%C3%A9.jpg",
                    "size": 1024,
                    "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                    "sequencer": "0055AED6DCD90281E5",
                },
            },
        }
    ]
}


def make_record(
    key: str, sequencer: str | None = None, *, time: str = EVENT_TIME, **obj_extra: Any
) -> dict[str, Any]:
    """A minimal ObjectCreated record shaped like moto's (no sequencer unless given)."""
    obj: dict[str, Any] = {"key": key, "size": 10, "eTag": "etag-" + key[-4:]}
    if sequencer is not None:
        obj["sequencer"] = sequencer
    obj.update(obj_extra)
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": time,
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": obj},
    }


def backfill_record(
    key: str,
    *,
    run: str = "20261129T120000Z-ab12cd",
    last_modified: str = EVENT_TIME,
    etag: str = "d41d8cd98f00b204e9800998ecf8427e",
    **obj_extra: Any,
) -> dict[str, Any]:
    """A record exactly as `pipectl backfill` sends it (the contract in the handler's brief)."""
    obj: dict[str, Any] = {"key": key, "size": 1024, "eTag": etag, **obj_extra}
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": last_modified,
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "pipectl-backfill"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "pipectl-backfill",
            "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
            "object": obj,
        },
        "pipectl": {"backfill": True, "run_id": run, "lastModified": last_modified},
    }


def client() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


def get_item(key: str, pk: str = "file_name") -> dict[str, Any] | None:
    """Read an item back in typed form (None when absent)."""
    return client().get_item(TableName=TABLE, Key={pk: {"S": key}}, ConsistentRead=True).get("Item")


def all_keys(pk: str = "file_name") -> set[str]:
    return {i[pk]["S"] for i in client().scan(TableName=TABLE)["Items"]}


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every stdout line must be JSON; return them parsed."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def record_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The per-record log lines only (those with an outcome), in the order they were written."""
    return [line for line in log_lines(capsys) if "outcome" in line]


def create_table(pk: str = "file_name") -> None:
    client().create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": pk, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": pk, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def load_app() -> ModuleType:
    """Load handler/app.py by path under a unique module name, as Lambda loads app.py."""
    spec = importlib.util.spec_from_file_location("pipectl_handler_app_under_test", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
