import json

import boto3
import pytest

from pipectl.errors import AwsError, UsageError
from pipectl.plan import Action
from pipectl.resources import role

TRUST = json.dumps(role.TRUST_POLICY)


def make_role(name: str) -> str:
    return boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"][
        "Arn"
    ]


def test_auto_uses_lab_role_and_never_creates(make_ctx, faults):
    arn = make_role("LabRole")
    faults.add("iam.CreateRole", "AccessDenied", "explicit deny", times=None)
    ctx, state = make_ctx()
    assert state.adopted and state.arn == arn
    assert ctx.role_arn == arn
    change = role.plan(ctx, state)
    assert change.action is Action.UNCHANGED
    role.apply(ctx, state, change)
    assert "iam.CreateRole" not in ctx.aws.calls.calls


@pytest.mark.parametrize("present", ["VocLabsRole", "AWSAcademyRole"])
def test_auto_falls_back_to_other_lab_roles_in_order(make_ctx, present):
    make_role(present)
    ctx, state = make_ctx()
    assert state.name == present and state.adopted


def test_auto_prefers_lab_role_over_the_others(make_ctx):
    for name in ("AWSAcademyRole", "VocLabsRole", "LabRole"):
        make_role(name)
    _, state = make_ctx()
    assert state.name == "LabRole"


def test_auto_without_lab_role_creates_least_privilege_role(make_ctx):
    ctx, state = make_ctx()
    assert not state.exists
    assert ctx.role_arn == "arn:aws:iam::123456789012:role/pipectl-serverless-data-lambda"
    role.apply(ctx, state, role.plan(ctx, state))
    iam = boto3.client("iam")
    created = iam.get_role(RoleName=state.name)["Role"]
    trust = created["AssumeRolePolicyDocument"]
    assert trust == role.trust_policy(ctx)
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    tags = {t["Key"]: t["Value"] for t in created["Tags"]}
    assert tags == {"managed-by": "pipectl", "pipectl-pipeline": "serverless-data"}
    document = iam.get_role_policy(RoleName=state.name, PolicyName="pipectl-serverless-data")
    statements = document["PolicyDocument"]["Statement"]
    assert {a for s in statements for a in s["Action"]} == {
        "dynamodb:PutItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",  # the on-failure queue is on by default
    }
    for statement in statements:  # no wildcard action, no "*" resource
        assert statement["Resource"] != "*"
        assert all("*" not in action for action in statement["Action"])
    assert statements[0]["Resource"] == ctx.table_arn
    assert statements[1]["Resource"] == f"{ctx.log_group_arn}:*"
    ctx2, state2 = make_ctx()
    assert role.plan(ctx2, state2).action is Action.UNCHANGED


def test_on_failure_queue_adds_only_send_message_on_that_queue(make_ctx, spec_with):
    ctx, state = make_ctx(spec_with(function={"on_failure_queue": True}))
    policy = role.least_privilege_policy(ctx)
    [queue_statement] = [s for s in policy["Statement"] if s["Sid"] == "SendFailedEvents"]
    assert queue_statement["Action"] == ["sqs:SendMessage"]
    assert queue_statement["Resource"] == ctx.queue_arn
    ctx, state = make_ctx(spec_with(function={"on_failure_queue": False}))
    sids = [s["Sid"] for s in role.least_privilege_policy(ctx)["Statement"]]
    assert sids == ["WriteResults", "WriteLogs"]


def test_changed_policy_is_repaired(make_ctx):
    ctx, state = make_ctx()
    role.apply(ctx, state, role.plan(ctx, state))
    boto3.client("iam").put_role_policy(
        RoleName=state.name,
        PolicyName="pipectl-serverless-data",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    ctx, state = make_ctx()
    change = role.plan(ctx, state)
    assert change.reasons == ("permissions policy differs",)
    role.apply(ctx, state, change)
    ctx, state = make_ctx()
    assert role.plan(ctx, state).action is Action.UNCHANGED


def test_existing_mode_requires_the_role(make_ctx, spec_with):
    with pytest.raises(UsageError, match="role Typo does not exist"):
        make_ctx(spec_with(role={"mode": "existing", "name": "Typo"}))


def test_existing_mode_uses_any_named_role(make_ctx, spec_with):
    arn = make_role("MyRole")
    ctx, state = make_ctx(spec_with(role={"mode": "existing", "name": "MyRole"}))
    assert ctx.role_arn == arn and state.adopted


def test_create_denied_says_use_lab_role(make_ctx, faults):
    faults.add("iam.CreateRole", "AccessDenied", "User is not authorized to perform iam:CreateRole")
    ctx, state = make_ctx()
    with pytest.raises(AwsError, match="may not create IAM roles") as info:
        role.apply(ctx, state, role.plan(ctx, state))
    assert "--role LabRole" in info.value.hint


def test_list_roles_denied_falls_back_to_get_role(make_ctx, faults):
    arn = make_role("VocLabsRole")
    faults.add("iam.ListRoles", "AccessDenied", "not allowed")
    ctx, state = make_ctx()
    assert state.arn == arn
    iam_calls = [c for c in ctx.aws.calls.calls if c.startswith("iam.")]  # STS runs beside
    assert iam_calls[:3] == ["iam.ListRoles", "iam.GetRole", "iam.GetRole"]
