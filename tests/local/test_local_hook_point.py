"""moto's internals that pipectl's Docker-free executor hooks into: fail loudly if they move.

pipectl/local/executor.py replaces two private moto functions and reads a few attributes of
moto's LambdaFunction. If a moto release changes them, these tests say what changed; the fix is
to adapt executor.py and the moto pin in pyproject.toml (the `local` and `dev` extras).
"""

from __future__ import annotations

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
from moto.logs import models as logs_models
from moto.s3 import notifications

from pipectl.local import executor

FIX = "update pipectl/local/executor.py and the moto pin in pyproject.toml"


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
        # The logs backend calls that write each invocation's log stream.
        (logs_models.LogsBackend, "ensure_log_group", ["self", "log_group_name"]),
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
    }
    actual = {attribute: getattr(fn, attribute, "<missing>") for attribute in expected}
    assert actual == expected, f"moto {moto.__version__} changed LambdaFunction: {FIX}"
    assert ":function:f" in getattr(fn, "function_arn", ""), FIX


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    originals = (lambda_models.LambdaFunction._invoke_lambda, notifications._invoke_awslambda)
    try:
        executor.install("http://127.0.0.1:1")
        executor.install("http://127.0.0.1:2")  # a second call only moves the endpoint
        assert lambda_models.LambdaFunction._invoke_lambda is executor._invoke_lambda
        assert notifications._invoke_awslambda is executor._invoke_awslambda_async
        assert executor._endpoint_url == "http://127.0.0.1:2"
    finally:
        executor.uninstall()
    assert (
        lambda_models.LambdaFunction._invoke_lambda,
        notifications._invoke_awslambda,
    ) == originals
    assert not executor.is_installed()
