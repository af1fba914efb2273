"""Tests for handler/app.py against moto's DynamoDB (no network): items, keys, input shapes,
failures, client and logs. Ordering rules: test_handler_ordering.py; concurrency:
test_handler_concurrency.py.

The handler is loaded by file path, as Lambda does with the deployed ``app.py``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from handler_helpers import (
    APP_PATH,
    BUCKET,
    CONTEXT,
    SAMPLE_EVENT,
    all_keys,
    create_table,
    get_item,
    load_app,
    log_lines,
    make_record,
)
from moto import mock_aws

# --- the happy path -------------------------------------------------------------------------


def test_sample_event_writes_full_item(app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = app.lambda_handler(copy.deepcopy(SAMPLE_EVENT), CONTEXT)

    assert result == {"processed": 1, "skipped": 0, "failed": 0}
    item = get_item("incoming/red flower é.jpg")
    assert item is not None
    assert item["bucket"] == {"S": BUCKET}
    assert item["status"] == {"S": "Processed"}
    assert item["source"] == {"S": "s3"}
    assert item["size"] == {"N": "1024"}
    assert item["etag"] == {"S": "d41d8cd98f00b204e9800998ecf8427e"}
    assert item["event_name"] == {"S": "ObjectCreated:Put"}
    assert item["event_time"] == {"S": "2026-11-28T12:00:00.000Z"}
    assert item["sequencer"] == {"S": "0055AED6DCD90281E5"}
    assert item["sequencer_sort"] == {"S": "0055aed6dcd90281e5".rjust(64, "0")}
    assert item["request_id"] == {"S": "req-0001"}
    assert "version_id" not in item and "backfill_run_id" not in item
    processed_at = datetime.fromisoformat(item["processed_at"]["S"])
    assert processed_at.utcoffset() == timezone.utc.utcoffset(None)
    assert abs((datetime.now(timezone.utc) - processed_at).total_seconds()) < 60


def test_several_records_in_one_event_are_all_written(app: Any) -> None:
    keys = [f"batch/file-{i}.csv" for i in range(5)]
    event = {"Records": [make_record(k, sequencer=f"0A{i:02X}") for i, k in enumerate(keys)]}

    assert app.lambda_handler(event, CONTEXT) == {"processed": 5, "skipped": 0, "failed": 0}
    assert all_keys() == set(keys)


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("red+flower.jpg", "red flower.jpg"),
        ("a%2Bb.txt", "a+b.txt"),
        ("caf%C3%A9+%E2%9C%93.txt", "café ✓.txt"),
        ("2026/11/28/deep/er/pre+fix/x%2By+z.json", "2026/11/28/deep/er/pre fix/x+y z.json"),
        ("%E6%97%A5%E6%9C%AC%2F%E8%AA%9E.txt", "日本/語.txt"),
    ],
)
def test_keys_are_url_decoded(app: Any, encoded: str, decoded: str) -> None:
    app.lambda_handler({"Records": [make_record(encoded)]}, CONTEXT)

    assert all_keys() == {decoded}


def test_without_context_no_request_id_is_stored(app: Any) -> None:
    assert app.lambda_handler({"Records": [make_record("no-ctx.txt")]}, None)["processed"] == 1

    item = get_item("no-ctx.txt")
    assert item is not None and "request_id" not in item


def test_custom_partition_key(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTITION_KEY", "object_key")
    with mock_aws():
        create_table(pk="object_key")
        module = load_app()
        module.lambda_handler({"Records": [make_record("a+b.txt", "01")]}, CONTEXT)
        item = get_item("a b.txt", pk="object_key")
        assert item is not None and item["bucket"] == {"S": BUCKET}
        # the ordering condition must use the configured key name too
        second = module.lambda_handler({"Records": [make_record("a+b.txt", "01")]}, CONTEXT)
        assert second == {"processed": 0, "skipped": 1, "failed": 0}


# --- idempotency and ordering ---------------------------------------------------------------


def test_same_event_twice_leaves_item_unchanged(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app.lambda_handler(copy.deepcopy(SAMPLE_EVENT), CONTEXT)
    first = get_item("incoming/red flower é.jpg")

    again = app.lambda_handler(copy.deepcopy(SAMPLE_EVENT), SimpleNamespace(aws_request_id="r2"))

    assert again == {"processed": 0, "skipped": 1, "failed": 0}
    assert get_item("incoming/red flower é.jpg") == first  # byte-identical, incl. processed_at
    record_logs = [line for line in log_lines(capsys) if line.get("outcome")]
    assert record_logs[-1]["outcome"] == "skipped"
    assert record_logs[-1]["reason"] == "stale_or_duplicate"


def test_older_sequencer_after_newer_is_skipped(app: Any) -> None:
    newer = make_record("k.txt", sequencer="0055AED6DCD90281F0", size=2)
    older = make_record("k.txt", sequencer="0055AED6DCD90281E5", size=1)

    assert app.lambda_handler({"Records": [newer]}, CONTEXT)["processed"] == 1
    assert app.lambda_handler({"Records": [older]}, CONTEXT) == {
        "processed": 0,
        "skipped": 1,
        "failed": 0,
    }
    item = get_item("k.txt")
    assert item is not None
    assert item["sequencer"] == {"S": "0055AED6DCD90281F0"}
    assert item["size"] == {"N": "2"}


def test_newer_sequencer_overwrites_older(app: Any) -> None:
    app.lambda_handler({"Records": [make_record("k.txt", "0055AED6DCD90281E5", size=1)]}, CONTEXT)
    result = app.lambda_handler(
        {"Records": [make_record("k.txt", "0055AED6DCD90281F0", size=2)]}, CONTEXT
    )

    assert result["processed"] == 1
    item = get_item("k.txt")
    assert item is not None and item["size"] == {"N": "2"}


def test_sequencers_of_different_length_compare_numerically(app: Any) -> None:
    # As strings "ff" > "100"; as hex numbers 0xff < 0x100. Same for case: "FF" == "ff".
    app.lambda_handler({"Records": [make_record("k.txt", "100", size=256)]}, CONTEXT)
    result = app.lambda_handler({"Records": [make_record("k.txt", "FF", size=255)]}, CONTEXT)

    assert result == {"processed": 0, "skipped": 1, "failed": 0}
    item = get_item("k.txt")
    assert item is not None and item["size"] == {"N": "256"}


def test_records_for_one_key_are_applied_in_sequencer_order(app: Any) -> None:
    # Listed newest first: applied oldest first, so each write is newer than the item it
    # replaces and the newest wins (in event order the older one would only be skipped).
    event = {
        "Records": [
            make_record("k.txt", "0B", size=11, eTag="v11"),
            make_record("k.txt", "0A", size=10, eTag="v10"),
        ]
    }

    assert app.lambda_handler(event, CONTEXT) == {"processed": 2, "skipped": 0, "failed": 0}
    item = get_item("k.txt")
    assert item is not None and item["size"] == {"N": "11"} and item["sequencer"] == {"S": "0B"}


def test_sequenced_event_after_unsequenced_item_is_ordered_by_time_and_etag(app: Any) -> None:
    app.lambda_handler({"Records": [make_record("k.txt", size=1, eTag="v1")]}, CONTEXT)
    same = make_record("k.txt", "01", size=1, eTag="v1", time="2026-11-28T12:00:01.000Z")
    newer = make_record("k.txt", "02", size=2, eTag="v2", time="2026-11-28T12:00:01.000Z")

    # No sequencer on the item to compare with: the same eTag is the same object version.
    assert app.lambda_handler({"Records": [same]}, CONTEXT)["skipped"] == 1
    assert app.lambda_handler({"Records": [newer]}, CONTEXT)["processed"] == 1
    item = get_item("k.txt")
    assert item is not None and item["size"] == {"N": "2"}


def test_sortable_sequencer(app: Any) -> None:
    assert app.sortable_sequencer("00FF") == "ff".rjust(64, "0")
    assert app.sortable_sequencer("ff") < app.sortable_sequencer("100")
    with pytest.raises(app.MalformedRecordError):
        app.sortable_sequencer("not-hex")


# --- optional and malformed input -----------------------------------------------------------


def test_record_missing_optional_fields(app: Any) -> None:
    record = make_record("bare.bin")
    record["s3"]["object"] = {"key": "bare.bin", "eTag": "e1"}  # no size, sequencer, versionId

    assert app.lambda_handler({"Records": [record]}, CONTEXT)["processed"] == 1
    item = get_item("bare.bin")
    assert item is not None
    assert set(item) == {
        "file_name", "bucket", "status", "source", "event_name", "event_time", "etag",
        "processed_at", "request_id",
    }  # fmt: skip


def test_records_without_sequencer_are_ordered_by_event_time(app: Any) -> None:
    # moto's events carry no sequencer: a later eventTime with another eTag wins, the same
    # eventTime and eTag again is a duplicate, an earlier eventTime is stale.
    first = make_record("moto.txt", size=1, eTag="v1", time="2026-11-28T12:00:00.100Z")
    later = make_record("moto.txt", size=2, eTag="v2", time="2026-11-28T12:00:00.200Z")
    earlier = make_record("moto.txt", size=0, eTag="v0", time="2026-11-28T12:00:00.050Z")

    assert app.lambda_handler({"Records": [first]}, CONTEXT)["processed"] == 1
    assert app.lambda_handler({"Records": [later]}, CONTEXT)["processed"] == 1
    written = get_item("moto.txt")
    assert app.lambda_handler({"Records": [later, earlier]}, CONTEXT)["skipped"] == 2
    assert get_item("moto.txt") == written
    assert written is not None and written["size"] == {"N": "2"}
    assert "sequencer" not in written and "sequencer_sort" not in written


def test_version_id_is_stored_when_present(app: Any) -> None:
    record = make_record("v.txt", "01", versionId="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
    app.lambda_handler({"Records": [record]}, CONTEXT)

    item = get_item("v.txt")
    assert item is not None and item["version_id"] == {"S": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda r: r.pop("s3"), id="no-s3"),
        pytest.param(lambda r: r["s3"].pop("object"), id="no-object"),
        pytest.param(lambda r: r["s3"]["object"].pop("key"), id="no-key"),
        pytest.param(lambda r: r["s3"].pop("bucket"), id="no-bucket"),
        pytest.param(lambda r: r["s3"].__setitem__("object", "oops"), id="object-not-dict"),
        pytest.param(lambda r: r["s3"]["object"].__setitem__("key", ""), id="empty-key"),
        pytest.param(lambda r: r["s3"]["object"].__setitem__("size", "big"), id="bad-size"),
        pytest.param(lambda r: r["s3"]["object"].__setitem__("sequencer", "zz"), id="bad-seq"),
        pytest.param(lambda r: r["s3"]["object"].pop("eTag"), id="no-etag"),
        pytest.param(lambda r: r.pop("eventTime"), id="no-event-time"),
        pytest.param(lambda r: r.__setitem__("eventTime", "yesterday"), id="bad-event-time"),
    ],
)
def test_malformed_record_is_skipped_and_others_written(
    app: Any, capsys: pytest.CaptureFixture[str], mutate: Any
) -> None:
    bad = make_record("bad.txt", "01")
    mutate(bad)
    event = {"Records": [make_record("good-1.txt"), bad, make_record("good-2.txt")]}

    assert app.lambda_handler(event, CONTEXT) == {"processed": 2, "skipped": 1, "failed": 0}
    assert all_keys() == {"good-1.txt", "good-2.txt"}
    skipped = [line for line in log_lines(capsys) if line.get("outcome") == "skipped"]
    assert len(skipped) == 1 and skipped[0]["reason"] == "malformed"


def test_s3_test_event_is_ignored(app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-28T12:00:00.000Z",
        "Bucket": BUCKET,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }

    assert app.lambda_handler(event, CONTEXT) == {"processed": 0, "skipped": 0, "failed": 0}
    assert all_keys() == set()
    lines = log_lines(capsys)
    assert any(line.get("event_type") == "s3:TestEvent" for line in lines)


def test_non_object_created_records_are_ignored(app: Any) -> None:
    removed = make_record("gone.txt")
    removed["eventName"] = "ObjectRemoved:Delete"
    from_sqs = make_record("sqs.txt")
    from_sqs["eventSource"] = "aws:sqs"
    event = {"Records": [removed, from_sqs, make_record("kept.txt")]}

    assert app.lambda_handler(event, CONTEXT) == {"processed": 1, "skipped": 2, "failed": 0}
    assert all_keys() == {"kept.txt"}


def test_pipectl_own_code_uploads_are_not_data(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deployment zip over 50 MB passes through the bucket under .pipectl/ (packaging.py): its
    event must not become an item, or `down` would keep the table for it."""
    from pipectl.build.packaging import CODE_PREFIX

    assert CODE_PREFIX.startswith(app.PIPECTL_PREFIX)
    event = {"Records": [make_record(f"{CODE_PREFIX}fn/abc.zip"), make_record("data.csv")]}
    assert app.lambda_handler(event, CONTEXT) == {"processed": 1, "skipped": 1, "failed": 0}
    assert all_keys() == {"data.csv"}
    assert any(line.get("reason") == "pipectl_internal" for line in log_lines(capsys))


def test_missing_table_name_raises_clear_error(
    app: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TABLE_NAME")

    with pytest.raises(app.ConfigurationError, match="TABLE_NAME"):
        app.lambda_handler(copy.deepcopy(SAMPLE_EVENT), CONTEXT)
    lines = log_lines(capsys)
    assert lines and lines[0]["level"] == "ERROR" and "TABLE_NAME" in lines[0]["message"]
    assert all_keys() == set()


# --- write failures -------------------------------------------------------------------------


def throttle_key(client: Any, key: str) -> list[str]:
    """Make PutItem for one partition key fail with ThrottlingException; return seen keys.

    A before-call hook that returns a response short-circuits the HTTP request (and so also
    botocore's retry loop, which lives below it): each put for that key fails exactly once.
    """
    calls: list[str] = []

    def hook(params: dict[str, Any], **_: Any) -> Any:
        item_key = json.loads(params["body"])["Item"]["file_name"]["S"]
        calls.append(item_key)
        if item_key != key:
            return None
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        return AWSResponse(params["url"], 400, {}, None), error

    client.meta.events.register("before-call.dynamodb.PutItem", hook)
    return calls


def test_throttled_record_does_not_stop_others_then_raises(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = throttle_key(app._get_client(), "b.txt")
    event = {
        "Records": [make_record(k, f"0{i}") for i, k in enumerate(["a.txt", "b.txt", "c.txt"])]
    }

    with pytest.raises(app.RecordsFailedError, match="1 of 3"):
        app.lambda_handler(event, CONTEXT)

    assert sorted(calls) == ["a.txt", "b.txt", "c.txt"]  # all tried, b.txt's failure aside
    assert all_keys() == {"a.txt", "c.txt"}
    lines = log_lines(capsys)
    failed = [line for line in lines if line.get("outcome") == "failed"]
    assert len(failed) == 1
    assert failed[0]["key"] == "b.txt"
    assert failed[0]["reason"] == "ThrottlingException"
    assert failed[0]["retryable"] is True
    summary = lines[-1]
    assert (summary["processed"], summary["skipped"], summary["failed"]) == (2, 0, 1)

    # Lambda's retry redelivers the whole event: the written records are skipped, b.txt lands.
    app._client = None  # a fresh client without the hook
    assert app.lambda_handler(event, CONTEXT) == {"processed": 1, "skipped": 2, "failed": 0}
    assert all_keys() == {"a.txt", "b.txt", "c.txt"}


def test_non_retryable_write_error_is_failed_and_raises(
    app: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")

    with pytest.raises(app.RecordsFailedError, match="2 of 2"):
        app.lambda_handler({"Records": [make_record("a.txt"), make_record("b.txt")]}, CONTEXT)

    failed = [line for line in log_lines(capsys) if line.get("outcome") == "failed"]
    assert [line["key"] for line in failed] == ["a.txt", "b.txt"]
    assert {line["reason"] for line in failed} == {"ResourceNotFoundException"}
    assert {line["retryable"] for line in failed} == {False}


# --- client and logs ------------------------------------------------------------------------


def test_client_is_created_once_with_standard_retries(app: Any) -> None:
    app.lambda_handler({"Records": [make_record("one.txt")]}, CONTEXT)
    client = app._client
    app.lambda_handler({"Records": [make_record("two.txt")]}, CONTEXT)

    assert client is not None and app._client is client
    assert client.meta.config.retries["mode"] == "standard"
    assert all_keys() == {"one.txt", "two.txt"}


def test_client_honours_aws_endpoint_url(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")

    assert app._get_client().meta.endpoint_url == "http://localhost:4566"


def test_log_lines_are_json_with_required_keys(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = make_record("bad.txt")
    bad["s3"]["object"].pop("key")
    app.lambda_handler({"Records": [make_record("ok+file.txt"), bad]}, CONTEXT)

    lines = log_lines(capsys)
    assert len(lines) == 3
    record_keys = {"level", "message", "key", "bucket", "outcome", "request_id", "duration_ms"}
    assert record_keys <= set(lines[0]) and record_keys | {"reason"} <= set(lines[1])
    assert (lines[0]["key"], lines[0]["bucket"], lines[0]["outcome"]) == (
        "ok file.txt",
        BUCKET,
        "processed",
    )
    assert lines[0]["request_id"] == "req-0001"
    assert lines[1]["outcome"] == "skipped"
    summary = lines[2]
    assert {
        "level",
        "message",
        "processed",
        "skipped",
        "failed",
        "request_id",
        "duration_ms",
    } <= set(summary)
    assert (summary["processed"], summary["skipped"], summary["failed"]) == (1, 1, 0)
    assert (summary["records"], summary["backfill"]) == (2, 0)
    assert summary["duration_ms"] >= 0
    assert lines[0]["source"] == "s3" and "source" not in lines[1]  # unparsed: no source


def test_module_loads_without_sys_modules_registration(aws_env: None) -> None:
    # Some loaders (and the benchmark, originally) exec the file without registering it in
    # sys.modules; module-level constructs such as dataclasses would then fail at import.
    spec = importlib.util.spec_from_file_location("pipectl_handler_app_unregistered", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.lambda_handler)
