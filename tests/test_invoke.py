"""`pipectl invoke`: the synthetic S3 event's shape, and bad input refused (exit 2) before any
AWS call. Invocations themselves run on the emulator: tests/local/test_local_own_handler.py."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import unquote_plus

import pytest

from pipectl.invoke import InvokeResult, s3_event, s3_event_key

# The record of the sample S3 event in /work/shared/aws-notes.md, as S3 sends it.
AWS_SAMPLE_RECORD = {
    "eventVersion": "2.1",
    "eventSource": "aws:s3",
    "awsRegion": "us-east-1",
    "eventTime": "2026-11-28T12:00:00.000Z",
    "eventName": "ObjectCreated:Put",
    "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
    "requestParameters": {"sourceIPAddress": "203.0.113.10"},
    "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
    "s3": {
        "s3SchemaVersion": "1.0",
        "configurationId": "pipectl-serverless-data",
        "bucket": {
            "name": "serverless-data-input-123456789012-us-east-1",
            "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
            "arn": "arn:aws:s3:::serverless-data-input-123456789012-us-east-1",
        },
        "object": {
            "key": "incoming/red+flower+%C3%A9.jpg",
            "size": 1024,
            "eTag": "d41d8cd98f00b204e9800998ecf8427e",
            "sequencer": "0055AED6DCD90281E5",
        },
    },
}


def shape(value):
    """The nested key structure of a JSON value, without its leaf values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return type(value).__name__


def test_event_for_an_existing_object_is_shaped_like_s3s():
    head = {"ContentLength": 1024, "ETag": '"d41d8cd98f00b204e9800998ecf8427e"'}
    event = s3_event(
        "serverless-data-input-123456789012-us-east-1",
        "incoming/red flower é.jpg",
        "us-east-1",
        "pipectl-serverless-data",
        head,
        now=datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=timezone.utc),
    )
    (record,) = event["Records"]
    expected = shape(AWS_SAMPLE_RECORD)
    del expected["s3"]["object"]["sequencer"]  # left out on purpose: see pipectl/invoke.py
    assert shape(record) == expected
    assert record["s3"]["object"] == {
        "key": "incoming/red+flower+%C3%A9.jpg",
        "size": 1024,
        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
    }
    assert record["eventTime"] == "2026-11-28T12:00:00.123Z"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::" + record["s3"]["bucket"]["name"]


@pytest.mark.parametrize(
    "key", ["a b+c.csv", "dt=2026-01-01/part:1.csv", "ümlaut/ß (1).txt", "~x*y!z'.bin", "100%"]
)
def test_keys_are_form_encoded_and_decode_back(key):
    encoded = s3_event_key(key)
    assert " " not in encoded
    assert encoded.count("+") == key.count(" ")  # a space becomes "+", a "+" becomes %2B
    assert unquote_plus(encoded) == key  # what the handler does with it
    assert encoded.count("/") == key.count("/")  # S3 keeps the slashes


def test_event_for_a_missing_object_has_no_size_or_etag():
    (record,) = s3_event("b", "k.csv", "eu-west-1", "id", None)["Records"]
    assert record["s3"]["object"] == {"key": "k.csv"}
    assert record["awsRegion"] == "eu-west-1"


def test_result_document():
    failed = InvokeResult(200, "Unhandled", {"errorType": "ValueError", "errorMessage": "x"}, [])
    assert failed.as_json() == {
        "ok": False,
        "status_code": 200,
        "function_error": "Unhandled",
        "payload": {"errorType": "ValueError", "errorMessage": "x"},
        "log_tail": [],
    }
    assert failed.error_type == "ValueError: x"


@pytest.mark.parametrize(
    ("args", "files", "expected"),
    [
        (["--key", "a.csv", "--event", "e.json"], {"e.json": "{}"}, "exclude each other"),
        ([], {}, "--key KEY"),
        (["--key", ""], {}, "--key must be"),
        (["--event", "missing.json"], {}, "cannot read missing.json"),
        (["--event", "bad.json"], {"bad.json": '{"Records": [}'}, "bad.json is not valid JSON"),
        (["--event", "folder"], {"folder/x": ""}, "cannot read folder"),
        (["--event", "latin1.json"], {"latin1.json": b'{"k": "\xe9"}'}, "cannot read"),
    ],
)
def test_bad_input_exits_2_before_any_aws_call(cli, runtime, workdir, args, files, expected):
    for name, content in files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = cli("invoke", *args, "--json")
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["ok"] is False
    assert runtime.last_aws is None
