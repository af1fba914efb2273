"""`pipectl invoke`: one event through the deployed function, synchronously, with its log tail.

The event is either a JSON file or a synthetic S3 ObjectCreated:Put record for a key of the
pipeline's bucket, shaped like the ones S3 sends (docs.aws.amazon.com/AmazonS3/latest/userguide/
notification-content-structure.html): the key form-URL-encoded with `/` kept ("red flower.jpg"
becomes "red+flower.jpg"), size and eTag from HeadObject when the object exists. It carries no
`sequencer`: a made-up one would be compared with the real ones S3 sent for that key, so the
handler writes the item unconditionally, as for any event without one.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from pipectl.aws import error_code, translate
from pipectl.errors import AwsError, UsageError

READ_TIMEOUT_MARGIN_S = 30  # over the function's own timeout, so the answer is always awaited


@dataclass(frozen=True)
class InvokeResult:
    status_code: int
    function_error: str | None  # Lambda's FunctionError: "Unhandled" / "Handled", or None
    payload: Any  # the decoded JSON result (or the raw text when it is not JSON)
    log_tail: list[str]  # the last 4 KB of the invocation's log, one line each

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def error_type(self) -> str:
        """`errorType: errorMessage` of a failed invocation (Lambda's error payload)."""
        if isinstance(self.payload, dict) and "errorType" in self.payload:
            return f"{self.payload['errorType']}: {self.payload.get('errorMessage', '')}"
        return str(self.payload)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status_code": self.status_code,
            "function_error": self.function_error,
            "payload": self.payload,
            "log_tail": self.log_tail,
        }


def check_flags(key: str | None, event_file: Path | None) -> Any:
    """Exactly one of --key / --event; the event file read and parsed. None means --key."""
    if key is not None and event_file is not None:
        raise UsageError("--key and --event exclude each other", "pass only one of them")
    if key is None and event_file is None:
        raise UsageError(
            "invoke needs an event", "pass --key KEY (an S3 event for that key) or --event FILE"
        )
    if key is not None:
        if not key or len(key.encode("utf-8")) > 1024:
            raise UsageError("--key must be 1 to 1024 bytes (an S3 object key)", "e.g. --key a.csv")
        return None
    assert event_file is not None
    return read_event_file(event_file)


def read_event_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"--event: cannot read {path}: {reason}", "pass a JSON file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--event: {path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}",
            'fix the file (an S3 event looks like {"Records": [...]})',
        ) from None


def s3_event_key(key: str) -> str:
    """The key as S3 writes it into events: form-URL-encoded, `/` kept."""
    return quote_plus(key, safe="/")


def s3_event(
    bucket: str,
    key: str,
    region: str,
    configuration_id: str,
    head: dict[str, Any] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An S3 ObjectCreated:Put event with one record for `key` (size/eTag/versionId from
    `head`, HeadObject's answer, when the object exists)."""
    now = now or datetime.now(timezone.utc)
    obj: dict[str, Any] = {"key": s3_event_key(key)}
    if head is not None:
        obj["size"] = int(head.get("ContentLength", 0))
        obj["eTag"] = str(head.get("ETag", "")).strip('"')
        if head.get("VersionId") and head["VersionId"] != "null":
            obj["versionId"] = head["VersionId"]
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "pipectl-invoke"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": secrets.token_hex(8).upper(),
            "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode("ascii"),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "pipectl-invoke"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }
    return {"Records": [record]}


def head_object(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """HeadObject, or None when the object (or the bucket) is not there."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}:
            return None
        raise translate(exc, f"reading s3://{bucket}/{key}") from None


def invoke(lam: Any, function_name: str, event: Any) -> InvokeResult:
    """Invoke (RequestResponse, LogType=Tail) and decode what comes back."""
    try:
        response = lam.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps(event).encode("utf-8"),
        )
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise AwsError(
                f"function {function_name} does not exist", "run `pipectl up` first"
            ) from None
        raise translate(exc, f"invoking {function_name}") from None
    raw = response["Payload"].read().decode("utf-8", errors="replace")
    try:
        payload = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        payload = raw
    tail = base64.b64decode(response.get("LogResult") or "").decode("utf-8", errors="replace")
    return InvokeResult(
        status_code=int(response.get("StatusCode", 0)),
        function_error=response.get("FunctionError"),
        payload=payload,
        log_tail=tail.splitlines(),
    )
