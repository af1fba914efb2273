"""S3 ObjectCreated -> DynamoDB Lambda handler (deployed alone as ``app.py``; stdlib + boto3 only).

Every S3 record becomes one DynamoDB item keyed by the decoded object key.

Why the rules below exist (the team's AWS notes, items 6, 11 and 12):

* S3 invokes Lambda asynchronously, *at least once* and *in no particular order*. Writes are
  therefore conditional on the record's ``sequencer``: an item is only (re)written when the
  stored sequencer is strictly smaller than the incoming one. A redelivered record (equal
  sequencer) and an older record (smaller sequencer) both fail the condition and are reported
  as ``skipped``; the stored item stays byte-identical. Records without a sequencer (moto's
  events, hand-made test events) cannot be ordered and are written unconditionally.
* One bad record never stops the others. Malformed records are logged and ``skipped`` (retrying
  them cannot help). Any record whose *write* fails -- throttling after the client's own retries,
  or a non-retryable error such as AccessDenied -- is ``failed``; once all records have been
  tried the invocation raises, so Lambda retries the event and finally hands it to the on-failure
  destination / DLQ instead of silently dropping it. The conditional writes make that redelivery
  safe for records that already succeeded.
* Events that are not S3 ObjectCreated records are logged and ignored: an ``s3:TestEvent`` (no
  ``Records``) returns all-zero counts; a foreign or ObjectRemoved record is ``skipped``.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_PARTITION_KEY = "file_name"
SEQUENCER_WIDTH = 64  # S3 sequencers are ~16-18 hex digits; 64 leaves ample headroom.
SEQUENCER_SORT_ATTR = "sequencer_sort"
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)

_client: Any = None  # one DynamoDB client per container, reused across warm invocations


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete (e.g. TABLE_NAME is not set)."""


class RecordsFailedError(RuntimeError):
    """Raised after all records were tried when at least one write failed, to trigger a retry."""


class MalformedRecordError(ValueError):
    """A record lacks the fields needed to build an item; retrying it cannot help."""


class S3Object(NamedTuple):
    """The parts of one S3 event record that end up in the item."""

    bucket: str
    key: str
    size: int | None
    etag: str | None
    event_name: str
    event_time: str | None
    sequencer: str | None
    version_id: str | None


def _log(level: str, message: str, **fields: Any) -> None:
    """Print one JSON log line; CloudWatch Logs keeps each stdout line as one event."""
    line = {"level": level, "message": message, **fields}
    # ensure_ascii=False: keys stay readable, and CloudWatch filter patterns match them as typed.
    print(json.dumps(line, default=str, ensure_ascii=False), flush=True)


def _get_client() -> Any:
    """Return the module's DynamoDB client, creating it on first use.

    Creating it lazily (not at import) lets tests install mocks first; caching it in a global
    avoids paying client construction on every warm invocation. boto3 honours AWS_ENDPOINT_URL
    itself; standard retry mode absorbs throttling with backoff before we ever see an error.
    """
    global _client
    if _client is None:
        _client = boto3.client("dynamodb", config=Config(retries={"mode": "standard"}))
    return _client


def _table_settings() -> tuple[str, str]:
    """Read TABLE_NAME (required) and PARTITION_KEY (default ``file_name``) from the environment."""
    table = os.environ.get("TABLE_NAME", "").strip()
    if not table:
        _log("ERROR", "TABLE_NAME environment variable is not set; cannot write items")
        raise ConfigurationError("TABLE_NAME environment variable is not set")
    return table, os.environ.get("PARTITION_KEY", "").strip() or DEFAULT_PARTITION_KEY


def sortable_sequencer(sequencer: str) -> str:
    """Left-pad a hex sequencer to a fixed width so string order equals numeric order.

    DynamoDB compares strings byte-wise, so ``"ff" > "100"``; padding both sides to the same
    width (and lower-casing) makes ``<`` in a ConditionExpression mean "older event".
    """
    digits = sequencer.strip().lower()
    if not digits or len(digits) > SEQUENCER_WIDTH or digits.strip("0123456789abcdef"):
        raise MalformedRecordError(f"sequencer {sequencer!r} is not a hex string")
    return digits.rjust(SEQUENCER_WIDTH, "0")


def is_object_created(record: Any) -> bool:
    """True for S3 ObjectCreated:* records; anything else is not ours to process."""
    return (
        isinstance(record, dict)
        and record.get("eventSource") == "aws:s3"
        and str(record.get("eventName", "")).startswith("ObjectCreated:")
    )


def parse_record(record: dict[str, Any]) -> S3Object:
    """Extract and decode the fields we store; raise MalformedRecordError on a wrong shape."""
    try:
        s3 = record["s3"]
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        raw_key = obj["key"]
    except (KeyError, TypeError) as exc:
        raise MalformedRecordError(f"missing field {exc}") from exc
    if not isinstance(raw_key, str) or not isinstance(bucket, str) or not raw_key or not bucket:
        raise MalformedRecordError("bucket name and object key must be non-empty strings")
    size = obj.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise MalformedRecordError(f"size {size!r} is not a non-negative integer")
    sequencer = obj.get("sequencer") or None
    if sequencer is not None:
        sortable_sequencer(str(sequencer))  # validate early so a bad one is "malformed"
    return S3Object(
        bucket=bucket,
        key=unquote_plus(raw_key),  # S3 sends "red flower.jpg" as "red+flower.jpg"
        size=size,
        etag=obj.get("eTag") or None,
        event_name=str(record["eventName"]),
        event_time=record.get("eventTime"),
        sequencer=str(sequencer) if sequencer is not None else None,
        version_id=obj.get("versionId") or None,
    )


def build_item(obj: S3Object, partition_key: str, request_id: str | None) -> dict[str, Any]:
    """Build the item in DynamoDB's typed attribute-value form, omitting absent fields."""
    item: dict[str, Any] = {
        partition_key: {"S": obj.key},
        "bucket": {"S": obj.bucket},
        "status": {"S": "Processed"},
        "event_name": {"S": obj.event_name},
        "processed_at": {"S": datetime.now(timezone.utc).isoformat(timespec="milliseconds")},
    }
    optional = {
        "etag": obj.etag,
        "event_time": obj.event_time,
        "sequencer": obj.sequencer,
        "version_id": obj.version_id,
        "request_id": request_id,
    }
    item.update({name: {"S": str(value)} for name, value in optional.items() if value})
    if obj.size is not None:
        item["size"] = {"N": str(obj.size)}
    if obj.sequencer is not None:
        item[SEQUENCER_SORT_ATTR] = {"S": sortable_sequencer(obj.sequencer)}
    return item


def write_item(table: str, partition_key: str, item: dict[str, Any]) -> bool:
    """Put the item; return False when the ordering condition rejected it (stale or duplicate).

    With a sequencer the write succeeds only if the key is new, the stored item has no
    sequencer, or the stored sequencer is strictly smaller. Equal means "same event again",
    so a redelivery is skipped and leaves the item untouched.
    """
    kwargs: dict[str, Any] = {"TableName": table, "Item": item}
    if SEQUENCER_SORT_ATTR in item:
        kwargs["ConditionExpression"] = (
            "attribute_not_exists(#pk) OR attribute_not_exists(#seq) OR #seq < :seq"
        )
        kwargs["ExpressionAttributeNames"] = {"#pk": partition_key, "#seq": SEQUENCER_SORT_ATTR}
        kwargs["ExpressionAttributeValues"] = {":seq": item[SEQUENCER_SORT_ATTR]}
    try:
        _get_client().put_item(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _failure_reason(exc: Exception) -> tuple[str, bool]:
    """Name the error and say whether retrying the event later could succeed."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code, code in RETRYABLE_CODES or int(status or 0) >= 500
    return type(exc).__name__, isinstance(exc, BotoCoreError)


def process_record(
    record: Any, table: str, partition_key: str, request_id: str | None
) -> tuple[str, dict[str, Any]]:
    """Handle one record and return (outcome, extra log fields); never raises."""
    if not is_object_created(record):
        return "skipped", {"reason": "not_s3_object_created"}
    try:
        obj = parse_record(record)
    except MalformedRecordError as exc:
        return "skipped", {"reason": "malformed", "detail": str(exc)}
    fields: dict[str, Any] = {"key": obj.key, "bucket": obj.bucket}
    try:
        written = write_item(table, partition_key, build_item(obj, partition_key, request_id))
    except Exception as exc:  # noqa: BLE001 - one bad write must not stop the other records
        reason, retryable = _failure_reason(exc)
        return "failed", {**fields, "reason": reason, "retryable": retryable, "detail": str(exc)}
    if not written:
        return "skipped", {**fields, "reason": "stale_or_duplicate"}
    return "processed", fields


def lambda_handler(event: Any, context: Any) -> dict[str, int]:
    """Write one DynamoDB item per S3 ObjectCreated record; raise if any write failed."""
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None)
    table, partition_key = _table_settings()
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        _log(
            "INFO",
            "ignoring event without Records (e.g. s3:TestEvent)",
            request_id=request_id,
            event_type=event.get("Event") if isinstance(event, dict) else type(event).__name__,
        )
        records = []

    counts = {"processed": 0, "skipped": 0, "failed": 0}
    for record in records:
        record_started = time.perf_counter()
        outcome, fields = process_record(record, table, partition_key, request_id)
        counts[outcome] += 1
        level = {"processed": "INFO", "skipped": "WARNING", "failed": "ERROR"}[outcome]
        if fields.get("reason") == "stale_or_duplicate":
            level = "INFO"  # expected under at-least-once delivery
        _log(
            level,
            f"record {outcome}",
            key=fields.pop("key", None),
            bucket=fields.pop("bucket", None),
            outcome=outcome,
            request_id=request_id,
            duration_ms=round((time.perf_counter() - record_started) * 1000, 3),
            **fields,
        )

    _log(
        "ERROR" if counts["failed"] else "INFO",
        "invocation summary",
        **counts,
        request_id=request_id,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    if counts["failed"]:
        raise RecordsFailedError(
            f"{counts['failed']} of {len(records)} records failed to write; "
            "raising so Lambda retries the event (rewrites of the other records are idempotent)"
        )
    return counts
