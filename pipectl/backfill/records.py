"""The records `pipectl backfill` sends: S3 ObjectCreated records marked as backfill ones.

This is the contract with handler/app.py (keep it exactly): S3's record shape (AWS notes, the
sample event) with `eventTime` = the object's LastModified, the key URL-encoded as S3 sends it
(AWS notes item 6), the eTag without quotes, no `sequencer`, and a `pipectl` member carrying
`backfill: true`, the run id and LastModified again. The handler uses them for its ordering rule:
a backfill record never overwrites an item from a newer real event.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote_plus

BACKFILL_ID = "pipectl-backfill"  # userIdentity.principalId and s3.configurationId
# https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html: "For asynchronous invocations,
# the maximum payload size is 1 MB" (raised from 256 KB in October 2025). pipectl still cuts an
# event at 256 KB: InvokeAsync and AWS-compatible endpoints keep the old limit, and the extra
# invocations cost next to nothing (a 100-record batch is about 70 KB anyway).
PAYLOAD_LIMIT = 256 * 1024
ENVELOPE = len(b'{"Records":[]}')


@dataclass(frozen=True)
class ListedObject:
    """One object as listed: what a record needs."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    version_id: str | None = None


@dataclass(frozen=True)
class Destination:
    """Where the records say the object lives."""

    bucket: str
    region: str  # the bucket's region (awsRegion)
    partition: str = "aws"


def new_run_id(now: datetime | None = None) -> str:
    """`20261129T120000Z-ab12cd`: when the run started, and six random hex digits."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def iso_millis(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, as S3 writes eventTime."""
    utc = moment.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def record(obj: ListedObject, where: Destination, run_id: str) -> dict[str, Any]:
    """The S3-shaped record for one object (the contract in this module's docstring)."""
    when = iso_millis(obj.last_modified)
    s3_object: dict[str, Any] = {
        "key": quote_plus(obj.key, safe="/"),
        "size": obj.size,
        "eTag": obj.etag.strip('"'),
    }
    if obj.version_id:
        s3_object["versionId"] = obj.version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": where.region,
        "eventTime": when,
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": BACKFILL_ID},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": BACKFILL_ID,
            "bucket": {"name": where.bucket, "arn": f"arn:{where.partition}:s3:::{where.bucket}"},
            "object": s3_object,
        },
        "pipectl": {"backfill": True, "run_id": run_id, "lastModified": when},
    }


@dataclass(frozen=True)
class Event:
    """One Invoke payload and the keys of the objects it carries."""

    payload: bytes
    keys: tuple[str, ...]


def events(
    objects: Iterable[ListedObject], where: Destination, run_id: str, limit: int = PAYLOAD_LIMIT
) -> Iterator[Event]:
    """The objects' records as `{"Records": [...]}` payloads of at most `limit` bytes each."""
    encoded: list[bytes] = []
    keys: list[str] = []
    size = ENVELOPE
    for obj in objects:
        data = json.dumps(record(obj, where, run_id), separators=(",", ":")).encode()
        extra = len(data) + (1 if encoded else 0)
        if encoded and size + extra > limit:
            yield Event(b'{"Records":[' + b",".join(encoded) + b"]}", tuple(keys))
            encoded, keys, size = [], [], ENVELOPE
            extra = len(data)
        encoded.append(data)
        keys.append(obj.key)
        size += extra
    if encoded:
        yield Event(b'{"Records":[' + b",".join(encoded) + b"]}", tuple(keys))
