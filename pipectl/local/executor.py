"""Docker-free Lambda for the embedded emulator: where it hooks into moto.

moto runs Lambda code only in Docker. pipectl replaces that step and keeps the rest of moto's
Lambda (the API, versions, permissions, concurrency and event invoke configs, S3 notifications).
Three hook points, all present in the moto versions pinned in pyproject.toml and checked by
tests/local/test_local_hook_point.py:

1. `moto.awslambda.models.LambdaFunction.invoke(self, body, request_headers, response_headers)`
   answers the Invoke API (and the SQS, SNS and EventBridge paths). moto runs the function
   synchronously whatever the invocation type; the replacement honours it: `RequestResponse`
   runs the function and waits, `Event` queues it (async_invocations.py) and returns at once
   (the API answers 202), `DryRun` runs nothing (204). Payload limits are Lambda's.
2. `moto.awslambda.models.LambdaFunction._invoke_lambda(self, event)`, the Docker step itself,
   for any caller that still reaches it: runs the function synchronously.
3. `moto.s3.notifications._invoke_awslambda(account_id, event_body, fn_arn, region_name)`, which
   moto calls inside the PutObject request: replaced by queueing the event, so PutObject returns
   at once and the function runs as an asynchronous invocation, as S3 invokes it on AWS.

Functions run in warm execution environments (invocations.py, environments.py, pool.py).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend
from moto.core.exceptions import JsonRESTError
from moto.s3 import notifications as s3_notifications

from pipectl.local.async_invocations import AsyncInvoker
from pipectl.local.invocations import Runner
from pipectl.local.pool import Throttled
from pipectl.local.settings import Settings

log = logging.getLogger("pipectl.local")

# https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html: "For synchronous invocations,
# the maximum payload size is 6 MB. For asynchronous invocations, the maximum payload size is
# 1 MB." (Asynchronous was 256 KB until late 2025; InvokeAsync keeps 256 KB.)
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024

_originals: dict[str, Any] = {}
_runner: Runner | None = None
_async: AsyncInvoker | None = None
_endpoint_url = ""


class InvokeError(JsonRESTError):
    """An error of the Invoke API itself, as Lambda answers it."""

    def __init__(self, status: int, error_type: str, message: str, **fields: Any) -> None:
        super().__init__(error_type, message)
        self.code = status
        self.description = json.dumps({"__type": error_type, "message": message, **fields})


def install(endpoint_url: str, settings: Settings | None = None) -> None:
    """Hook the executor into moto; functions will reach AWS at `endpoint_url`.

    Idempotent: a second call only changes the endpoint.
    """
    global _runner, _async, _endpoint_url
    _endpoint_url = endpoint_url
    if _originals:
        assert _runner is not None
        _runner.endpoint_url = endpoint_url
        return
    settings = settings or Settings()
    _runner = Runner(endpoint_url, settings)
    _runner.pools.start_reaper()
    _async = AsyncInvoker(_runner, settings.retry_delay_s)
    _originals["invoke"] = LambdaFunction.invoke
    _originals["_invoke_lambda"] = LambdaFunction._invoke_lambda
    _originals["_invoke_awslambda"] = s3_notifications._invoke_awslambda
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    s3_notifications._invoke_awslambda = _invoke_awslambda_async


def uninstall() -> None:
    """Give moto back its own functions and stop every environment (for tests)."""
    global _runner, _async
    if not _originals:
        return
    LambdaFunction.invoke = _originals.pop("invoke")  # type: ignore[method-assign]
    LambdaFunction._invoke_lambda = _originals.pop("_invoke_lambda")  # type: ignore[method-assign]
    s3_notifications._invoke_awslambda = _originals.pop("_invoke_awslambda")
    if _runner is not None:
        _runner.close()
    _runner = _async = None


def is_installed() -> bool:
    return bool(_originals)


def kill_running() -> None:
    """Kill every execution environment, busy or idle, so that stopping the emulator leaves no
    process behind."""
    if _runner is not None:
        _runner.close()


def _invoke(
    self: LambdaFunction, body: Any, request_headers: Any, response_headers: dict[str, Any]
) -> bytes:
    """Stands in for `LambdaFunction.invoke`: the Invoke API with its invocation types."""
    runner, queue = _running()
    invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
    payload = _payload(body)
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
    if len(payload) > limit:
        raise _too_large(len(payload), invocation_type, limit)
    try:
        json.loads(payload)
    except ValueError as exc:
        raise InvokeError(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
        ) from None
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        request_id = queue.submit(self, payload)
        response_headers["x-amzn-RequestId"] = request_id
        return b""
    try:
        wait = self.reserved_concurrency is None  # reserved: throttled as on AWS, else queued
        outcome = runner.run(self, payload, str(uuid.uuid4()), wait=wait)
    except Throttled:
        raise InvokeError(
            429,
            "TooManyRequestsException",
            "Rate Exceeded.",
            Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
        ) from None
    if outcome.is_error:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["x-amz-executed-version"] = str(self.version)
    if invocation_type == "RequestResponse":  # moto drops it again unless LogType=Tail
        response_headers["x-amz-log-result"] = _base64(outcome.tail)
    return outcome.payload


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Stands in for `LambdaFunction._invoke_lambda`: (payload, is_error, log tail)."""
    runner, _ = _running()
    if event is None or event == "{}":
        event = {}
    outcome = runner.run(self, json.dumps(event).encode(), str(uuid.uuid4()))
    return outcome.payload.decode(), outcome.is_error, outcome.tail


def _invoke_awslambda_async(
    account_id: str, event_body: Any, fn_arn: str, region_name: str
) -> None:
    """Stands in for `moto.s3.notifications._invoke_awslambda`: the event is queued for the
    function, as S3 hands it to Lambda; a function that is gone is skipped, as moto does."""
    _, queue = _running()
    try:
        fn = get_backend(account_id, region_name).get_function(fn_arn)
    except Exception as exc:  # e.g. deleted; S3 would fail to deliver it too
        log.warning("S3 event for %s not delivered: %s", fn_arn, exc)
        return
    queue.submit(fn, json.dumps(event_body).encode())


def _running() -> tuple[Runner, AsyncInvoker]:
    if _runner is None or _async is None:
        raise RuntimeError("pipectl.local.executor is not installed")
    return _runner, _async


def _payload(body: Any) -> bytes:
    """moto passes the request body as text (bytes if it was not UTF-8); empty means `{}`."""
    if not body:
        return b"{}"
    return body if isinstance(body, bytes) else str(body).encode()


def _too_large(size: int, invocation_type: str, limit: int) -> InvokeError:
    """Lambda's messages for an oversized request (as its API answers them)."""
    if invocation_type == "Event":
        message = (
            f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"
        )
    else:
        message = f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
    return InvokeError(413, "RequestEntityTooLargeException", message)


def _header(headers: Any, name: str) -> str:
    """A request header, whatever the case of its name (moto passes werkzeug headers or {})."""
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if str(k).lower() == wanted), "")


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
