"""The fault matrix: real AWS errors injected into `up`, one step at a time."""

import json

import pytest

STEPS = [
    ("s3.CreateBucket", "bucket"),
    ("s3.PutBucketEncryption", "bucket"),
    ("dynamodb.CreateTable", "table"),
    ("iam.CreateRole", "role"),
    ("iam.PutRolePolicy", "role"),
    ("logs.CreateLogGroup", "log_group"),
    ("logs.PutRetentionPolicy", "log_group"),
    ("lambda.CreateFunction", "function"),
    ("lambda.PutFunctionEventInvokeConfig", "function"),
    ("lambda.AddPermission", "permission"),
    ("s3.PutBucketNotificationConfiguration", "trigger"),
]


def up(cli, url, *extra):
    result = cli("up", "--endpoint-url", url, "--json", *extra)
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("operation, step", STEPS)
def test_failure_at_each_step_names_it_and_a_second_up_converges(
    cli, moto_url, faults, operation, step
):
    faults.add(operation, "ServiceException", "injected failure", times=1)
    result, doc = up(cli, moto_url)
    assert result.exit_code == 1
    assert doc["ok"] is False
    assert step in doc["errors"]
    assert "injected failure" in doc["errors"][step]["error"]
    by_kind = {c["resource"]: c["action"] for c in doc["changes"]}
    assert by_kind[step] == "failed"
    assert "Traceback" not in result.stderr
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert doc["ok"] is True
    result, doc = up(cli, moto_url)
    assert all(c["action"] == "unchanged" for c in doc["changes"]), doc


def test_dependents_of_a_failed_step_are_skipped(cli, moto_url, faults):
    faults.add("iam.CreateRole", "ServiceException", "boom")
    result, doc = up(cli, moto_url)
    by_kind = {c["resource"]: c["action"] for c in doc["changes"]}
    assert by_kind["function"] == by_kind["permission"] == by_kind["trigger"] == "skipped"
    assert by_kind["bucket"] == by_kind["table"] == by_kind["log_group"] == "create"


def test_throttling_is_absorbed_by_retries(cli, moto_url, faults):
    faults.throttle("dynamodb.CreateTable", 1)
    faults.throttle("lambda.CreateFunction", 1)
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert faults.fired.count("throttled dynamodb.CreateTable") == 1
    assert faults.fired.count("throttled lambda.CreateFunction") == 1


@pytest.mark.parametrize(
    "code, message, expected",
    [
        (
            "ExpiredToken",
            "The security token included in the request is expired",
            "session expired",
        ),
        (
            "ExpiredTokenException",
            "The security token included in the request is expired",
            "session expired",
        ),
        ("InvalidClientTokenId", "The security token is invalid", "rejected the credentials"),
        (
            "AccessDenied",
            "User: arn:aws:sts::1:assumed-role/voclabs/x is not authorized",
            "access denied",
        ),
    ],
)
def test_credential_errors_are_one_clear_line(cli, moto_url, faults, code, message, expected):
    faults.add("iam.ListRoles", code, message, times=None)
    faults.add("iam.GetRole", code, message, times=None)
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_missing_credentials_say_how_to_configure(cli, moto_url, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 1
    assert "no AWS credentials found" in result.stderr
    assert "aws configure" in result.stderr


def test_ctrl_c_during_up_exits_130_and_a_second_up_converges(cli, moto_url, runtime):
    def interrupt(client):
        def raise_interrupt(**_):
            raise KeyboardInterrupt

        client.meta.events.register("before-call.lambda.CreateFunction", raise_interrupt)

    runtime.hooks.append(interrupt)
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    runtime.hooks.remove(interrupt)
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert {c["resource"]: c["action"] for c in doc["changes"]}["function"] == "create"
