"""S3 events and Lambda on-failure records shaped as AWS documents them, for the replay tests (a
module of its own: `conftest` is not a unique name to import from)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

BUCKET = "serverless-data-input-123456789012-us-east-1"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:serverless-data-processor:$LATEST"


def s3_event(key: str, sequencer: str = "0055AED6DCD90281E5") -> dict[str, Any]:
    """An ObjectCreated event as Lambda receives it (aws-notes), the key URL-encoded as S3 does."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-28T12:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "pipectl-serverless-data",
                    "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                    "object": {
                        "key": quote_plus(key),
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": sequencer,
                    },
                },
            }
        ]
    }


def on_failure_record(
    event: Any,
    error_type: str | None = "RecordsFailedError",
    error_message: str = "1 of 1 records failed to write",
    condition: str = "RetriesExhausted",
    attempts: int = 3,
) -> dict[str, Any]:
    """Lambda's invocation record for an event that failed every attempt (Lambda developer guide,
    "Capturing records of Lambda asynchronous invocations", example invocation record)."""
    response = {"errorMessage": error_message}
    if error_type:
        response["errorType"] = error_type
    return {
        "version": "1.0",
        "timestamp": "2026-11-28T12:03:05.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": FUNCTION_ARN,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": response,
    }


def body(key: str, **record: Any) -> str:
    """The SQS message body of a failed event for `key`."""
    return json.dumps(on_failure_record(s3_event(key), **record))
