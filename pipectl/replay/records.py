"""Lambda's invocation records: what an on-failure destination receives when an asynchronous
event failed every attempt, and what `pipectl replay` reads back from the on-failure queue.

The documented format (Lambda developer guide, "Capturing records of Lambda asynchronous
invocations", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html):

    {"version": "1.0", "timestamp": "2019-11-14T18:16:05.568Z",
     "requestContext": {"requestId": "e4b46cbf-...", "functionArn": "arn:aws:lambda:...:$LATEST",
                        "condition": "RetriesExhausted", "approximateInvokeCount": 3},
     "requestPayload": {...the original event...},
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                         "functionError": "Unhandled"},
     "responsePayload": {"errorMessage": "...", "errorType": "..."}}

`condition` is `RetriesExhausted` or `EventAgeExceeded` for a failure (`Success` for an
on-success record); `responsePayload` may lack `errorType` (a crash gives only `errorMessage`) or
be absent. A dead-letter queue gets the bare event instead, without any of this: such a message,
and anything else that is not an on-failure record, is `NotARecord`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class NotARecord(ValueError):
    """The message is not a Lambda on-failure record; the text says what it is instead."""


@dataclass(frozen=True)
class FailedInvocation:
    """One on-failure record: the original event and why Lambda gave up on it."""

    request_payload: Any
    condition: str
    request_id: str | None
    function_arn: str | None
    attempts: int | None  # approximateInvokeCount
    failed_at: str | None  # the record's timestamp
    error_type: str | None
    error_message: str | None

    @property
    def keys(self) -> tuple[str, ...]:
        return s3_keys(self.request_payload)

    @property
    def error(self) -> str:
        """`ErrorType: message`, or what is known of it."""
        if self.error_type and self.error_message:
            return f"{self.error_type}: {self.error_message}"
        return self.error_type or self.error_message or self.condition


def parse(body: str) -> FailedInvocation:
    """The record in an SQS message body; NotARecord when it is anything else."""
    try:
        record = json.loads(body)
    except ValueError:
        raise NotARecord("not JSON") from None
    if not isinstance(record, dict):
        raise NotARecord(f"JSON {type(record).__name__}, not an invocation record")
    context = record.get("requestContext")
    if not isinstance(context, dict) or "requestPayload" not in record:
        if "Records" in record:
            raise NotARecord("a bare event, not an invocation record (a dead-letter message?)")
        raise NotARecord("JSON without requestContext and requestPayload")
    condition = context.get("condition")
    if not isinstance(condition, str) or not condition:
        raise NotARecord("requestContext has no condition")
    if condition == "Success":
        raise NotARecord("an on-success record: nothing failed")
    response = record.get("responsePayload")
    response = response if isinstance(response, dict) else {}
    return FailedInvocation(
        request_payload=record["requestPayload"],
        condition=condition,
        request_id=text(context.get("requestId")),
        function_arn=text(context.get("functionArn")),
        attempts=count(context.get("approximateInvokeCount")),
        failed_at=text(record.get("timestamp")),
        error_type=text(response.get("errorType")),
        error_message=text(response.get("errorMessage")),
    )


def s3_keys(event: Any) -> tuple[str, ...]:
    """The decoded object keys of an S3 event's records (S3 URL-encodes them)."""
    records = event.get("Records") if isinstance(event, dict) else None
    keys = []
    for record in records if isinstance(records, list) else []:
        try:
            key = record["s3"]["object"]["key"]
        except (KeyError, TypeError):
            continue
        if isinstance(key, str):
            keys.append(unquote_plus(key))
    return tuple(keys)


def error_of(payload: Any) -> str:
    """A failed invocation's response payload (`{"errorType", "errorMessage", ...}`) as one line."""
    if isinstance(payload, dict):
        kind, message = text(payload.get("errorType")), text(payload.get("errorMessage"))
        if kind and message:
            return f"{kind}: {message}"
        if kind or message:
            return kind or message or ""
    return json.dumps(payload, default=str)[:500]


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
