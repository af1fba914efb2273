"""S3 ObjectCreated -> DynamoDB Lambda handler (deployed alone as ``app.py``; stdlib + boto3 only).

One item per record, keyed by the decoded object key, written with ONE conditional PutItem so
that at-least-once, out-of-order delivery (AWS notes 11, 12) and backfills never move an item
back to an older object, and a repeated record never rewrites it.

A record comes from S3 (item ``source = "s3"``) or from ``pipectl backfill`` (``"backfill"``:
``record["pipectl"]["backfill"] is True``, with ``run_id`` and ``lastModified``, no sequencer).
The item keeps what the rule needs: ``etag``, ``sequencer_sort`` (S3 records with a sequencer),
``backfill_run_id``, and ``event_time`` in UTC: an S3 eventTime as ``YYYY-MM-DDTHH:MM:SS.mmmZ``,
a backfill's LastModified at its one-second resolution as ``YYYY-MM-DDTHH:MM:SS+00:00``. As
``+`` sorts before ``.``, a LastModified sorts after every eventTime of earlier seconds and before
every eventTime of its own second (an object's event is never earlier than its LastModified).

The ordering rule -- a record replaces the stored item only when:

1. there is no item, or the item has no ``event_time`` (nothing to order by);
2. S3 record, item with a sequencer, record with one: the record's sequencer is greater;
3. S3 record, otherwise: the eTag differs and the item's ``event_time`` sorts before the
   record's eventTime (an S3 item with an earlier eventTime; a backfill item whose
   LastModified is in the same second or earlier);
4. backfill record: the item is not from the same run, and either the eTag is equal (the same
   version: re-processed, which is what ``backfill --all`` asks for) or the item describes an
   older object (an S3 eventTime in an earlier second, a backfill LastModified not later).

Anything else is ``skipped`` -- never an error -- and leaves the item byte-identical, with the
reason ``stale_or_duplicate`` (S3 records) or ``newer_item_or_duplicate`` (backfill records). So
a backfill never overwrites an S3 item with another eTag from the same second or later (a
re-upload while it ran), and the same S3 event (equal sequencer, or equal eTag) or the same
backfill run again is a duplicate. Items from the previous handler version have no ``source``
but the same ``event_time``, ``etag`` and ``sequencer_sort``: they are S3 items here. Limits:
without sequencers an identical re-upload (same eTag) is the same version; a backfill that
re-processes an item drops its sequencer (PutItem replaces the item), so an older upload from
that same second delivered afterwards would win by rule 3.

Records for one key are applied in order (by sequencer when all carry one), different keys in
parallel on a small thread pool (boto3 clients are thread-safe). One bad record never stops the
others (malformed: ``skipped``; a failed write: ``failed``); once all were tried the invocation
raises, so Lambda retries the event or hands it to the on-failure destination. Log lines follow
record order, then the ``invocation summary``. No ``Records`` (``s3:TestEvent``): zero counts.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_PARTITION_KEY = "file_name"
WRITE_WORKERS = 16  # parallel PutItems per invocation; the client's connection pool matches
SEQUENCER_WIDTH = 64  # S3 sequencers are ~16-18 hex digits; 64 leaves ample headroom.
SEQUENCER_SORT_ATTR = "sequencer_sort"
# pipectl's own transient objects (a deployment zip over 50 MB passes through the bucket): not data.
PIPECTL_PREFIX = ".pipectl/"
RUN_ATTR = "backfill_run_id"
SOURCE_S3, SOURCE_BACKFILL = "s3", "backfill"
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
    """The parts of one record that end up in the item."""

    bucket: str
    key: str
    size: int | None
    etag: str
    event_name: str
    event_time: str  # see canonical_time()
    sequencer: str | None
    version_id: str | None
    source: str  # SOURCE_S3 or SOURCE_BACKFILL
    run_id: str | None  # backfill run


class Result(NamedTuple):
    """What happened to one record, for its log line and the summary."""

    outcome: str  # processed | skipped | failed
    fields: dict[str, Any]
    duration_ms: float = 0.0


def _log(level: str, message: str, **fields: Any) -> None:
    """Print one JSON log line; CloudWatch Logs keeps each stdout line as one event."""
    line = {"level": level, "message": message, **fields}
    # ensure_ascii=False: keys stay readable, and CloudWatch filter patterns match them as typed.
    print(json.dumps(line, default=str, ensure_ascii=False), flush=True)


def _get_client() -> Any:
    """The module's DynamoDB client, made on first use (so tests can install mocks first) and
    kept for warm invocations. Standard retries absorb throttling; AWS_ENDPOINT_URL is honoured;
    one pooled connection per writer thread, so none waits for (or discards) a connection."""
    global _client
    if _client is None:
        config = Config(retries={"mode": "standard"}, max_pool_connections=WRITE_WORKERS)
        _client = boto3.client("dynamodb", config=config)
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


def canonical_time(value: Any, whole_seconds: bool = False, name: str = "time") -> str:
    """ISO-8601 time -> UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (``...:SS+00:00`` with whole_seconds).

    S3's own eventTime already has the first form; a time without a zone is taken as UTC.
    """
    if not isinstance(value, str):
        raise MalformedRecordError(f"{name} {value!r} is missing or not a string")
    text = value.strip()
    text = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedRecordError(f"{name} {value!r} is not ISO-8601") from None
    moment = moment.replace(tzinfo=moment.tzinfo or timezone.utc).astimezone(timezone.utc)
    if whole_seconds:
        return f"{moment:%Y-%m-%dT%H:%M:%S}+00:00"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def is_object_created(record: Any) -> bool:
    """True for S3 ObjectCreated:* records (backfill ones included); anything else is not ours."""
    return (
        isinstance(record, dict)
        and record.get("eventSource") == "aws:s3"
        and str(record.get("eventName", "")).startswith("ObjectCreated:")
    )


def is_backfill(record: dict[str, Any]) -> bool:
    """The contract with ``pipectl backfill``: ``record["pipectl"]["backfill"] is True``."""
    marker = record.get("pipectl")
    return isinstance(marker, dict) and marker.get("backfill") is True


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedRecordError(f"{name} must be a non-empty string")
    return value


def parse_record(record: dict[str, Any]) -> S3Object:
    """Extract and decode the fields we store; raise MalformedRecordError on a wrong shape."""
    try:
        bucket = record["s3"]["bucket"]["name"]
        obj = record["s3"]["object"]
        raw_key = obj["key"]
    except (KeyError, TypeError) as exc:
        raise MalformedRecordError(f"missing field {exc}") from exc
    size = obj.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise MalformedRecordError(f"size {size!r} is not a non-negative integer")
    backfill = is_backfill(record)
    marker = record["pipectl"] if backfill else {}
    sequencer = None if backfill else obj.get("sequencer") or None
    if sequencer is not None:
        sortable_sequencer(str(sequencer))  # validate early so a bad one is "malformed"
    return S3Object(
        bucket=_text(bucket, "bucket name"),
        key=unquote_plus(_text(raw_key, "object key")),  # S3 sends "a b.jpg" as "a+b.jpg"
        size=size,
        etag=_text(obj.get("eTag"), "eTag"),
        event_name=str(record["eventName"]),
        event_time=(
            canonical_time(marker.get("lastModified"), True, "pipectl.lastModified")
            if backfill
            else canonical_time(record.get("eventTime"), name="eventTime")
        ),
        sequencer=str(sequencer) if sequencer is not None else None,
        version_id=obj.get("versionId") or None,
        source=SOURCE_BACKFILL if backfill else SOURCE_S3,
        run_id=_text(marker.get("run_id"), "pipectl.run_id") if backfill else None,
    )


def build_item(obj: S3Object, partition_key: str, request_id: str | None) -> dict[str, Any]:
    """Build the item in DynamoDB's typed attribute-value form, omitting absent fields."""
    item: dict[str, Any] = {
        partition_key: {"S": obj.key},
        "bucket": {"S": obj.bucket},
        "status": {"S": "Processed"},
        "source": {"S": obj.source},
        "event_name": {"S": obj.event_name},
        "processed_at": {"S": datetime.now(timezone.utc).isoformat(timespec="milliseconds")},
    }
    optional = {
        "etag": obj.etag,
        "event_time": obj.event_time,
        "sequencer": obj.sequencer,
        "version_id": obj.version_id,
        RUN_ATTR: obj.run_id,
        "request_id": request_id,
    }
    item.update({name: {"S": str(value)} for name, value in optional.items() if value})
    if obj.size is not None:
        item["size"] = {"N": str(obj.size)}
    if obj.sequencer is not None:
        item[SEQUENCER_SORT_ATTR] = {"S": sortable_sequencer(obj.sequencer)}
    return item


# The docstring's rules as condition expressions. In DynamoDB (and moto) a comparison with a
# missing attribute is false, except <> which is true (as fixed in emulators to match AWS, e.g.
# nubo-db/dynoxide#8): S3 items have no #run, backfill and unsequenced items no #seq.
CONDITIONS = {
    "s3": "attribute_not_exists(#t) OR (#etag <> :etag AND #t < :t)",  # 1, 3
    "s3_sequenced": "attribute_not_exists(#t) OR #seq < :seq"  # 1, 2
    " OR (attribute_not_exists(#seq) AND #etag <> :etag AND #t < :t)",  # 3
    "backfill": "attribute_not_exists(#t) OR (#run <> :run AND (#etag = :etag OR #t < :t))",  # 4
}


def write_condition(obj: S3Object, item: dict[str, Any]) -> dict[str, Any]:
    """The PutItem arguments that enforce the ordering rule for this record's item."""
    if obj.source == SOURCE_BACKFILL:
        # A LastModified stands for its whole second: item times before S.000Z are older objects.
        kind, time_value = "backfill", obj.event_time.replace("+00:00", ".000Z")
    else:
        kind, time_value = ("s3_sequenced" if obj.sequencer else "s3"), obj.event_time
    names = {"#t": "event_time", "#etag": "etag", "#seq": SEQUENCER_SORT_ATTR, "#run": RUN_ATTR}
    values = {":t": {"S": time_value}, ":etag": item["etag"]}
    values.update({":seq": item.get(SEQUENCER_SORT_ATTR), ":run": item.get(RUN_ATTR)})
    expression = CONDITIONS[kind]
    used = set(re.findall(r"[#:]\w+", expression))  # DynamoDB rejects unused names and values
    return {
        "ConditionExpression": expression,
        "ExpressionAttributeNames": {k: v for k, v in names.items() if k in used},
        "ExpressionAttributeValues": {k: v for k, v in values.items() if k in used},
    }


def write_item(table: str, obj: S3Object, item: dict[str, Any]) -> bool:
    """Put the item; return False when the ordering rule rejected it (stale or duplicate)."""
    try:
        _get_client().put_item(TableName=table, Item=item, **write_condition(obj, item))
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


def read_record(record: Any) -> S3Object | Result:
    """The record's object, or the ``skipped`` result when it is not ours or malformed."""
    if not is_object_created(record):
        return Result("skipped", {"reason": "not_s3_object_created"})
    try:
        obj = parse_record(record)
    except MalformedRecordError as exc:
        return Result("skipped", {"reason": "malformed", "detail": str(exc)})
    if obj.key.startswith(PIPECTL_PREFIX):
        return Result("skipped", {"key": obj.key, "reason": "pipectl_internal"})
    return obj


def process_object(obj: S3Object, table: str, partition_key: str, request_id: str | None) -> Result:
    """Write one object's item and say what happened; never raises."""
    started = time.perf_counter()
    fields: dict[str, Any] = {"key": obj.key, "bucket": obj.bucket, "source": obj.source}
    if obj.run_id:
        fields["run_id"] = obj.run_id
    try:
        written = write_item(table, obj, build_item(obj, partition_key, request_id))
    except Exception as exc:  # noqa: BLE001 - one bad write must not stop the other records
        reason, retryable = _failure_reason(exc)
        fields.update(reason=reason, retryable=retryable, detail=str(exc))
        outcome = "failed"
    else:
        outcome = "processed" if written else "skipped"
        if not written:
            fields["reason"] = "newer_item_or_duplicate" if obj.run_id else "stale_or_duplicate"
    return Result(outcome, fields, round((time.perf_counter() - started) * 1000, 3))


def key_groups(objects: dict[int, S3Object]) -> list[list[int]]:
    """Record indexes grouped by key, each group in apply order, groups by first appearance."""
    groups: dict[str, list[int]] = {}
    for index, obj in objects.items():
        groups.setdefault(obj.key, []).append(index)
    for indexes in groups.values():
        sequencers = [objects[i].sequencer for i in indexes]
        if len(indexes) > 1 and all(sequencers):
            indexes.sort(key=lambda i: sortable_sequencer(str(objects[i].sequencer)))
    return list(groups.values())


def run_writes(
    objects: dict[int, S3Object], table: str, partition_key: str, request_id: str | None
) -> Iterator[tuple[int, Result]]:
    """Write every object, one key's records in order, keys in parallel; yield as they finish."""

    def apply_group(indexes: list[int]) -> list[tuple[int, Result]]:
        return [(i, process_object(objects[i], table, partition_key, request_id)) for i in indexes]

    groups = key_groups(objects)
    if len(groups) <= 1:  # one key (S3's usual event): nothing to overlap, no threads
        yield from (result for group in groups for result in apply_group(group))
        return
    # One client for all threads: "low-level clients are thread safe" (boto3 user guide,
    # "Multithreading or multiprocessing with clients"); only sessions and resources are not.
    with ThreadPoolExecutor(max_workers=min(WRITE_WORKERS, len(groups))) as pool:
        for future in as_completed([pool.submit(apply_group, group) for group in groups]):
            yield from future.result()


def _log_in_order(results: dict[int, Result], start: int, request_id: str | None) -> int:
    """Log the results from index `start` on up to the first still missing; return its index."""
    while start in results:
        _log_result(results[start], request_id)
        start += 1
    return start


# The reasons of a record whose conditional PutItem DynamoDB rejected (the ordering rule).
CONDITION_REASONS = ("stale_or_duplicate", "newer_item_or_duplicate")


def _log_result(result: Result, request_id: str | None) -> None:
    level = {"processed": "INFO", "skipped": "WARNING", "failed": "ERROR"}[result.outcome]
    fields = dict(result.fields)
    if fields.get("reason") in CONDITION_REASONS:
        level = "INFO"  # expected under at-least-once delivery and backfills
    _log(
        level,
        f"record {result.outcome}",
        key=fields.pop("key", None),
        bucket=fields.pop("bucket", None),
        outcome=result.outcome,
        request_id=request_id,
        duration_ms=result.duration_ms,
        **fields,
    )


def lambda_handler(event: Any, context: Any) -> dict[str, int]:
    """Write one DynamoDB item per ObjectCreated record; raise if any write failed."""
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

    results: dict[int, Result] = {}
    objects: dict[int, S3Object] = {}
    for index, record in enumerate(records):
        read = read_record(record)
        if isinstance(read, Result):
            results[index] = read
        else:
            objects[index] = read

    # Each line goes out as soon as every earlier record is done: record order, while writing.
    logged = _log_in_order(results, 0, request_id)
    for index, result in run_writes(objects, table, partition_key, request_id):
        results[index] = result
        logged = _log_in_order(results, logged, request_id)

    counts = {"processed": 0, "skipped": 0, "failed": 0}
    for result in results.values():
        counts[result.outcome] += 1
    backfill = sum(obj.source == SOURCE_BACKFILL for obj in objects.values())
    rejected = sum(r.fields.get("reason") in CONDITION_REASONS for r in results.values())
    _log(
        "ERROR" if counts["failed"] else "INFO",
        "invocation summary",
        **counts,
        rejected_writes=rejected,  # skipped by the condition: DynamoDB bills each as a write
        records=len(records),
        backfill=backfill,
        request_id=request_id,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    if counts["failed"]:
        raise RecordsFailedError(
            f"{counts['failed']} of {len(records)} records failed to write; "
            "raising so Lambda retries the event (rewrites of the other records are idempotent)"
        )
    return counts
