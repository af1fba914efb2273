"""Functions in the states moto never produces, through the real CLI on the shared moto server.

Each state is injected into GetFunction's parsed answer with a botocore `after-call` handler (or
the real error with FaultInjector), as Lambda documents it:
https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html (Pending, Active, Inactive,
Failed; LastUpdateStatus InProgress / Failed with LastUpdateStatusReason(Code)) and the
`State`, `StateReasonCode` and `LastUpdateStatus` fields of
https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html.
"""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

from pipectl.resources.role import TRUST_POLICY

FUNCTION = "serverless-data-processor"
FAILED = {
    "State": "Failed",
    "StateReasonCode": "InvalidRuntime",
    "StateReason": "The runtime parameter of python2.7 is no longer supported",
}
UPDATE_FAILED = {
    "LastUpdateStatus": "Failed",
    "LastUpdateStatusReasonCode": "EniLimitExceeded",
    "LastUpdateStatusReason": "You have exceeded the maximum limit for Hyperplane ENIs",
}
INACTIVE = {
    "State": "Inactive",
    "StateReasonCode": "Idle",
    "StateReason": "The function has been idle and its resources were reclaimed",
}
PENDING = {"State": "Pending", "StateReasonCode": "Creating", "StateReason": "being created"}


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


def run(cli, url: str, command: str, *extra: str):
    result = cli(command, "--endpoint-url", url, "--json", *extra)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def by_kind(doc, field: str = "action") -> dict[str, str]:
    return {c["resource"]: c[field] for c in doc["changes"]}


def lambda_answers(runtime, operation: str, *answers: dict) -> None:
    """The next answers of `operation` carry these fields (one dict per call, in order)."""
    queue = list(answers)

    def hook(aws_client) -> None:
        if aws_client.meta.service_model.service_name != "lambda":
            return

        def patch(parsed, **_) -> None:
            if queue and "Configuration" in parsed:
                parsed["Configuration"].update(queue.pop(0))

        aws_client.meta.events.register(f"after-call.lambda.{operation}", patch)

    runtime.hooks.append(hook)


def up_ok(cli, url: str) -> dict:
    result, doc = run(cli, url, "up")
    assert result.exit_code == 0, result.stderr
    return doc


def calls(runtime) -> list[str]:
    return runtime.last_aws.calls.calls


def test_a_failed_function_of_pipectls_shows_as_drift_and_up_recreates_it(cli, moto_url, runtime):
    """Lambda: "When function creation fails, Lambda sets the function state to failed, and you
    must delete and recreate the function." A second `up` used to call it unchanged."""
    up_ok(cli, moto_url)
    lambda_answers(runtime, "GetFunction", FAILED)
    result, doc = run(cli, moto_url, "status")
    assert result.exit_code == 1
    [row] = [r for r in doc["resources"] if r["resource"] == "function"]
    assert row["drift"] == [
        "State Failed (InvalidRuntime: The runtime parameter of python2.7 is no longer "
        "supported): `up` deletes and recreates it (Failed never recovers)"
    ]

    lambda_answers(runtime, "GetFunction", FAILED)
    doc = up_ok(cli, moto_url)
    actions, details = by_kind(doc), by_kind(doc, "detail")
    assert actions["function"] == "update"
    assert "State Failed (InvalidRuntime" in details["function"]
    assert "`up` deletes and recreates it (Failed never recovers)" in details["function"]
    # Deleting the function deletes its resource policy: the permission is made again, before
    # the trigger (which S3 validates against it) would need it.
    assert actions["permission"] == "create"
    made = runtime.last_aws.calls.mutating
    assert made.index("lambda.DeleteFunction") < made.index("lambda.CreateFunction")
    assert made.index("lambda.CreateFunction") < made.index("lambda.AddPermission")
    assert "lambda.PutFunctionEventInvokeConfig" in made

    result, doc = run(cli, moto_url, "status")
    assert result.exit_code == 0, doc
    assert doc["in_sync"] is True


def test_a_failed_update_counts_as_failed_too(cli, moto_url, runtime):
    """LastUpdateStatus Failed: "Lambda abandoned the update" (functions-states.html); the reason
    is in LastUpdateStatusReason(Code), which the message carries."""
    up_ok(cli, moto_url)
    lambda_answers(runtime, "GetFunction", UPDATE_FAILED)
    doc = up_ok(cli, moto_url)
    detail = by_kind(doc, "detail")["function"]
    assert detail.startswith("last update Failed (EniLimitExceeded: You have exceeded")
    assert "lambda.DeleteFunction" in runtime.last_aws.calls.mutating


def adopt_function(url: str) -> None:
    """A function with pipectl's name that pipectl did not create (no pipectl tags)."""
    iam = client("iam", url)
    role = iam.create_role(RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return 1\n")
    client("lambda", url).create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
    )


def test_a_failed_function_that_is_not_pipectls_is_refused_with_the_reason(cli, moto_url, runtime):
    adopt_function(moto_url)
    lambda_answers(runtime, "GetFunction", FAILED)
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 1
    assert "function serverless-data-processor is unusable: State Failed (InvalidRuntime" in (
        result.stderr
    )
    assert "not pipectl's, so pipectl will not recreate it" in result.stderr
    assert "Traceback" not in result.stderr
    assert runtime.last_aws.calls.mutating == []  # refused before anything changed

    lambda_answers(runtime, "GetFunction", FAILED)
    result, doc = run(cli, moto_url, "status")
    [row] = [r for r in doc["resources"] if r["resource"] == "function"]
    assert row["managed"] is False
    assert row["drift"] == [
        "function serverless-data-processor is unusable: State Failed (InvalidRuntime: "
        "The runtime parameter of python2.7 is no longer supported)"
    ]


def test_an_inactive_function_is_woken_not_recreated(cli, moto_url, runtime, faults):
    """Lambda: "When you try to invoke a function that is inactive, the invocation fails and
    Lambda sets the function to pending state until the function resources are recreated." The
    failed invocation is injected as Lambda's ResourceConflictException."""
    up_ok(cli, moto_url)
    faults.add(
        "lambda.Invoke",
        "ResourceConflictException",
        "The operation cannot be performed at this time. The function is currently in the "
        "following state: Inactive",
    )
    lambda_answers(runtime, "GetFunction", INACTIVE, PENDING)  # the read, then the first poll
    doc = up_ok(cli, moto_url)
    assert by_kind(doc)["function"] == "update"
    assert by_kind(doc, "detail")["function"] == (
        "State Inactive (Idle: The function has been idle and its resources were reclaimed): "
        "`up` wakes it"
    )
    made = calls(runtime)
    assert "lambda.DeleteFunction" not in made and "lambda.CreateFunction" not in made
    woke = made.index("lambda.Invoke")
    assert made[woke + 1 :].count("lambda.GetFunction") == 2  # Pending, then Active
    assert faults.fired == ["lambda.Invoke"]


def test_an_inactive_function_shows_in_status_with_what_up_does(cli, moto_url, runtime):
    up_ok(cli, moto_url)
    lambda_answers(runtime, "GetFunction", INACTIVE)
    result, doc = run(cli, moto_url, "status")
    assert result.exit_code == 1
    [row] = [r for r in doc["resources"] if r["resource"] == "function"]
    assert row["drift"] == [
        "State Inactive (Idle: The function has been idle and its resources were reclaimed): "
        "`up` wakes it"
    ]


def test_waking_that_is_denied_names_the_call(cli, moto_url, runtime, faults):
    up_ok(cli, moto_url)
    faults.add("lambda.Invoke", "AccessDeniedException", "not authorized to lambda:InvokeFunction")
    lambda_answers(runtime, "GetFunction", INACTIVE)
    result, doc = run(cli, moto_url, "up")
    assert result.exit_code == 1
    assert doc["errors"]["function"]["error"].startswith(
        "waking function serverless-data-processor: access denied"
    )


@pytest.mark.parametrize(
    "fields, waiter_reads",
    [
        (PENDING, 2),  # function_active_v2: Pending, Active; function_updated_v2: Successful
        ({"LastUpdateStatus": "InProgress"}, 2),
    ],
    ids=["pending", "update-in-progress"],
)
def test_a_settling_function_is_awaited_before_anything_else(
    cli, moto_url, runtime, fields, waiter_reads
):
    """Pending: "Lambda does not invoke a function during pending state. Any invocations or
    other API actions that operate on the function will fail." An update InProgress makes further
    updates fail with ResourceConflictException. `up` waits with boto3's waiters."""
    up_ok(cli, moto_url)
    lambda_answers(runtime, "GetFunction", fields)
    doc = up_ok(cli, moto_url)
    assert "`up` waits until it is ready" in by_kind(doc, "detail")["function"]
    assert runtime.last_aws.calls.mutating == []
    assert calls(runtime).count("lambda.GetFunction") == 1 + waiter_reads


def test_a_state_pipectl_does_not_know_is_refused(cli, moto_url, runtime):
    up_ok(cli, moto_url)
    lambda_answers(runtime, "GetFunction", {"State": "Deactivated", "StateReason": "retired"})
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 1
    assert "is unusable: State Deactivated (retired)" in result.stderr
    assert runtime.last_aws.calls.mutating == []
