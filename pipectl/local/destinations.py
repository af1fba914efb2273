"""Invocation records of asynchronous invocations, and their delivery to a destination.

The record is Lambda's documented one (https://docs.aws.amazon.com/lambda/latest/dg/
invocation-async.html, "Configuring destinations for asynchronous invocation"):

    {"version": "1.0", "timestamp": "2019-11-14T18:16:05.568Z",
     "requestContext": {"requestId": ..., "functionArn": "arn:aws:lambda:...:function:f:$LATEST",
                        "condition": "RetriesExhausted", "approximateInvokeCount": 3},
     "requestPayload": <the event>,
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                         "functionError": "Unhandled"},
     "responsePayload": {"errorMessage": ..., "errorType": ...}}

`condition` is `Success`, `RetriesExhausted` or `EventAgeExceeded`. An SQS destination receives
the record as the message body, a Lambda destination as its event. SNS and EventBridge
destinations are not delivered locally; that is logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from moto.awslambda.utils import get_backend
from moto.sqs.models import sqs_backends

from pipectl.local import lambda_logs
from pipectl.local.invocations import Outcome

log = logging.getLogger("pipectl.local")


def qualified_arn(fn: Any) -> str:
    """The function's ARN with its version as qualifier (`...:function:f:$LATEST`)."""
    return ":".join(fn.function_arn.split(":")[:7] + [str(fn.version)])


def record(
    fn: Any,
    request_id: str,
    payload: bytes,
    condition: str,
    attempts: int,
    outcome: Outcome | None,
) -> dict[str, Any]:
    """The invocation record; without response fields when the event never ran."""
    document: dict[str, Any] = {
        "version": "1.0",
        "timestamp": lambda_logs.iso_now(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": qualified_arn(fn),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": json.loads(payload),
    }
    if outcome is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": str(fn.version)}
        if outcome.is_error:
            response["functionError"] = "Unhandled"
        document["responseContext"] = response
        document["responsePayload"] = json.loads(outcome.payload) if outcome.payload else None
    return document


def deliver(
    fn: Any,
    destination: str,
    document: dict[str, Any],
    invoke_async: Callable[[Any, bytes], str],
) -> None:
    """Send `document` to the destination ARN; a failure is logged in the function's log group
    and the emulator's log, never dropped in silence."""
    service, region, account = _arn_parts(destination)
    body = json.dumps(document)
    try:
        if service == "sqs":
            sqs_backends[account][region].send_message(destination.split(":")[5], body)
        elif service == "lambda":
            target = get_backend(account, region).get_function(destination)
            invoke_async(target, body.encode())
        else:
            raise NotImplementedError(f"{service} destinations are not supported locally")
    except Exception as exc:  # whatever went wrong, say so where the user looks
        request_id = document["requestContext"]["requestId"]
        line = (
            f"[ERROR] pipectl local: the {document['requestContext']['condition']} record of "
            f"request {request_id} did not reach {destination}: {exc}"
        )
        log.error("%s: %s", fn.function_name, line)
        lambda_logs.write(fn, lambda_logs.stream_name(fn.version), [(_now_ms(), line)])
        return
    condition = document["requestContext"]["condition"]
    log.info("%s: %s record sent to %s", fn.function_name, condition, destination)


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(service, region, account) of an ARN; empty strings for what it lacks."""
    parts = arn.split(":")
    parts += [""] * (6 - len(parts))
    return parts[2], parts[3], parts[4]


def _now_ms() -> int:
    return int(time.time() * 1000)
