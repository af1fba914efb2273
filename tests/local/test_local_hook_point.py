"""moto's internals that pipectl's Docker-free executor hooks into: fail loudly if they move.

pipectl/local/executor.py replaces three moto functions, and pipectl/local reads a few attributes
of moto's LambdaFunction and calls a few backend methods (logs, SQS, event invoke configs). If a
moto release changes them, these tests say what changed; the fix is to adapt pipectl/local and
the moto pin in pyproject.toml (the `local` and `dev` extras).
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws
from moto.awslambda import models as lambda_models
from moto.awslambda import responses as lambda_responses
from moto.awslambda import utils as lambda_utils
from moto.awslambda.exceptions import UnknownEventConfig
from moto.logs import models as logs_models
from moto.s3 import notifications
from moto.sqs import models as sqs_models

from pipectl.local import executor

FIX = "update pipectl/local/ and the moto pin in pyproject.toml"


def qualified(owner: Any, name: str) -> str:
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}.{name}"
    return f"{owner.__name__}.{name}"


def signature_of(owner: Any, name: str) -> list[str]:
    target: Callable[..., Any] | None = getattr(owner, name, None)
    assert target is not None, (
        f"moto {moto.__version__} no longer has {qualified(owner, name)}: {FIX}"
    )
    return list(inspect.signature(target).parameters)


@pytest.mark.parametrize(
    ("owner", "name", "expected"),
    [
        # The Docker step that executor.install() replaces.
        (lambda_models.LambdaFunction, "_invoke_lambda", ["self", "event"]),
        # Its caller, whose use of the (payload, is_error, logs) result pipectl relies on.
        (
            lambda_models.LambdaFunction,
            "invoke",
            ["self", "body", "request_headers", "response_headers"],
        ),
        # What moto's S3 notifications call synchronously; wrapped to run in the background.
        (notifications, "_invoke_awslambda", ["account_id", "event_body", "fn_arn", "region_name"]),
        # How async invocations find a function and its event invoke config.
        (lambda_utils, "get_backend", ["account_id", "region"]),
        (
            lambda_models.LambdaBackend,
            "get_function",
            ["self", "function_name_or_arn", "qualifier"],
        ),
        (
            lambda_models.LambdaBackend,
            "get_function_event_invoke_config",
            ["self", "function_name"],
        ),
        # The logs backend calls that write each invocation's log stream.
        (logs_models.LogsBackend, "ensure_log_group", ["self", "log_group_name"]),
        (
            logs_models.LogsBackend,
            "ensure_log_stream",
            ["self", "log_group_name", "log_stream_name"],
        ),
        (
            logs_models.LogsBackend,
            "create_log_stream",
            ["self", "log_group_name", "log_stream_name"],
        ),
        (
            logs_models.LogsBackend,
            "put_log_events",
            ["self", "log_group_name", "log_stream_name", "log_events"],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_hook_point_signatures(owner: Any, name: str, expected: list[str]) -> None:
    actual = signature_of(owner, name)
    assert actual == expected, (
        f"moto {moto.__version__} changed the signature of {qualified(owner, name)}: "
        f"{actual}, pipectl expects {expected}: {FIX}"
    )


def test_s3_notifications_call_the_module_level_function() -> None:
    """Wrapping works only while send_event looks `_invoke_awslambda` up in the module."""
    assert "_invoke_awslambda(" in inspect.getsource(notifications.send_event), (
        f"moto {moto.__version__}'s S3 send_event no longer calls _invoke_awslambda: {FIX}"
    )


def test_sqs_send_message_takes_the_queue_name_and_body_first() -> None:
    """destinations.py sends invocation records with send_message(queue_name, body)."""
    actual = signature_of(sqs_models.SQSBackend, "send_message")[:3]
    assert actual == ["self", "queue_name", "message_body"], (
        f"moto {moto.__version__} changed SQSBackend.send_message: {actual}: {FIX}"
    )


def test_the_invoke_api_hands_its_headers_to_the_function_and_answers_event_with_202() -> None:
    """The replaced LambdaFunction.invoke sees the invocation type only because the backend
    passes the request headers on; an Event invocation is answered 202 by moto itself."""
    backend_source = inspect.getsource(lambda_models.LambdaBackend.invoke)
    response_source = inspect.getsource(lambda_responses.LambdaResponse.invoke)
    assert "fn.invoke(body, headers, response_headers)" in backend_source, FIX
    assert '"X-Amz-Invocation-Type") == "Event"' in response_source, FIX
    assert "status_code = 202" in response_source, FIX


@mock_aws
def test_event_invoke_configs_are_kept_in_order_and_answered_with_the_first() -> None:
    """async_invocations reads the config as GetFunctionEventInvokeConfig answers it. moto 5.2
    appends on Put and answers with the first (pipectl deletes before it puts); a missing
    config raises UnknownEventConfig."""
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="r", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_function(
        FunctionName="f", Runtime="python3.12", Role=role, Handler="app.h", Code={"ZipFile": b"x"}
    )
    backend = lambda_utils.get_backend("123456789012", "us-east-1")
    with pytest.raises(UnknownEventConfig):
        backend.get_function_event_invoke_config("f")
    lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1)
    lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=0)

    answered = backend.get_function_event_invoke_config("f")

    assert answered["MaximumRetryAttempts"] == 1, f"moto {moto.__version__}: {FIX}"
    assert lam.get_function_event_invoke_config(FunctionName="f")["MaximumRetryAttempts"] == 1


@mock_aws
def test_lambda_function_attributes_the_executor_reads() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return 1\n")
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
        Environment={"Variables": {"A": "1"}},
    )
    fn = lambda_models.lambda_backends["123456789012"]["us-east-1"].get_function("f")

    expected = {
        "code_bytes": buffer.getvalue(),
        "environment_vars": {"A": "1"},
        "function_name": "f",
        "handler": "app.lambda_handler",
        "logs_group_name": "/aws/lambda/f",
        "memory_size": 128,
        "package_type": "Zip",
        "region": "us-east-1",
        "account_id": "123456789012",
        "run_time": "python3.12",
        "timeout": 3,
        "version": "$LATEST",
        "reserved_concurrency": None,
        "code_sha_256": base64.b64encode(hashlib.sha256(buffer.getvalue()).digest()).decode(),
    }
    actual = {attribute: getattr(fn, attribute, "<missing>") for attribute in expected}
    assert actual == expected, f"moto {moto.__version__} changed LambdaFunction: {FIX}"
    assert ":function:f" in getattr(fn, "function_arn", ""), FIX
    boto3.client("lambda", region_name="us-east-1").put_function_concurrency(
        FunctionName="f", ReservedConcurrentExecutions=2
    )
    assert fn.reserved_concurrency == 2, FIX


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    def hooks() -> tuple[Any, Any, Any]:
        function = lambda_models.LambdaFunction
        return function.invoke, function._invoke_lambda, notifications._invoke_awslambda

    originals = hooks()
    try:
        executor.install("http://127.0.0.1:1")
        executor.install("http://127.0.0.1:2")  # a second call only moves the endpoint
        assert hooks() == (
            executor._invoke,
            executor._invoke_lambda,
            executor._invoke_awslambda_async,
        )
        assert executor._endpoint_url == "http://127.0.0.1:2"
        assert executor._runner is not None
        assert executor._runner.endpoint_url == "http://127.0.0.1:2"
    finally:
        executor.uninstall()
    assert hooks() == originals
    assert not executor.is_installed()
