"""The function's execution role: an existing one (LabRole & co. in AWS Academy labs, or any name
given) or a least-privilege role pipectl creates."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from pipectl.aws import error_code, translate
from pipectl.config.model import LAB_ROLES
from pipectl.context import Context
from pipectl.errors import AwsError, UsageError
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import (
    parallel_reads,
    perform,
    tag_list,
    tags_dict,
    teardown_verdict,
    unless_missing,
)

KIND = "role"


class Op(BaseOp):
    CREATE = "create", "iam.CreateRole"
    TRUST = "trust", "iam.UpdateAssumeRolePolicy"
    POLICY = "policy", "iam.PutRolePolicy"
    DELETE = (
        "delete",
        "iam.ListRolePolicies",
        "iam.DeleteRolePolicy",
        "iam.ListAttachedRolePolicies",
        "iam.DetachRolePolicy",
        "iam.DeleteRole",
    )


# A function may name the role once it exists and trusts Lambda; the permissions policy is needed
# only when the function runs, so it is put while the function is being created.
LATE_OPS = (Op.POLICY,)

# What any Lambda execution role trusts (a lab's LabRole too): the Lambda service.
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def trust_policy(ctx: Context) -> dict[str, Any]:
    """The role pipectl creates trusts Lambda only when it acts for a function in this account
    (aws:SourceAccount), against the cross-service confused deputy. Lambda supplies the function
    owner's account when it assumes an execution role: AWS's own published execution-role trust
    policy carries this condition (aws/agent-toolkit-for-aws, serverless-skills
    lambda-trust-policy.json), and the IAM guide recommends it on service-role trust policies
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). Lambda's own guide
    names no condition key for this trust, and moto does not evaluate it: the evidence of use is
    modules that ship it (terraform-aws-modules/terraform-aws-lambda PR 771,
    paxosglobal/terraform-aws-lambda v1.4.0); aws-parallelcluster PR 6926 saw aws:SourceArn, not
    aws:SourceAccount, fail for functions in a VPC, which pipectl does not make. If Lambda ever
    refused it, CreateFunction would say the role cannot be assumed (function.py's retry
    names that)."""
    statement = {
        **TRUST_POLICY["Statement"][0],
        "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


@dataclass(frozen=True, kw_only=True)
class RoleState(ResourceState):
    arn: str = ""
    adopted: bool = False  # an existing role pipectl uses but does not manage
    trust_policy: dict[str, Any] | None = None
    inline_policy: dict[str, Any] | None = None
    details_read: bool = True  # False until read_details has read the inline policy

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4] if self.arn.count(":") >= 5 else ""

    def managed(self, pipeline: str) -> bool:
        return not self.adopted and super().managed(pipeline)


def policy_name(ctx: Context) -> str:
    return f"pipectl-{ctx.spec.pipeline}"


def read(ctx: Context) -> RoleState:
    """The role `connect` located, completed with what only a created role needs read."""
    return read_details(ctx, ctx.located_role)


def locate(ctx: Context, missing_ok: bool = False) -> RoleState:
    """Find the role the function will use. Needs no account id: this read supplies it.

    A configured existing role that is missing is an error for `up`; `status` and `down` pass
    `missing_ok` and get a missing adopted role instead (nothing of pipectl's to report or remove).
    """
    mode, name = ctx.spec.role.mode, ctx.spec.role.name
    iam = ctx.client("iam")
    if mode == "existing":
        role = get_role(iam, name or "")
        if role is None:
            if missing_ok:
                return RoleState(name=name or "", exists=False, adopted=True)
            raise UsageError(
                f"role {name} does not exist",
                "check role.name / --role (list roles: aws iam list-roles), or use --create-role",
            )
        return adopted(role)
    if mode == "create":
        return read_created(ctx, get_role(iam, ctx.spec.created_role_name))
    candidates = (name,) if name else LAB_ROLES
    roles = find_roles(iam, (*candidates, ctx.spec.created_role_name))
    for candidate in candidates:
        if candidate in roles:
            return adopted(roles[candidate])
    if name:
        return RoleState(name=name, exists=False)
    return read_created(ctx, roles.get(ctx.spec.created_role_name))


def adopted(role: dict[str, Any]) -> RoleState:
    return RoleState(name=role["RoleName"], exists=True, arn=role["Arn"], adopted=True)


def get_role(iam: Any, name: str) -> dict[str, Any] | None:
    response = unless_missing(
        lambda: iam.get_role(RoleName=name), {"NoSuchEntity"}, None, f"reading role {name}"
    )
    return response["Role"] if response else None


def find_roles(iam: Any, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """One ListRoles sweep finds every candidate at once; where ListRoles is denied, fall back to
    GetRole per name."""
    wanted = set(names)
    found: dict[str, dict[str, Any]] = {}
    try:
        for page in iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1000}):
            for role in page.get("Roles", []):
                if role["RoleName"] in wanted:
                    found[role["RoleName"]] = role
            if len(found) == len(wanted):
                break
    except Exception as exc:
        if error_code(exc) not in {"AccessDenied", "AccessDeniedException"}:
            raise translate(exc, "listing IAM roles") from None
        for name in names:
            role = get_role(iam, name)
            if role is not None:
                found[name] = role
                break
    return found


def read_created(ctx: Context, role: dict[str, Any] | None) -> RoleState:
    """The role pipectl creates, as ListRoles/GetRole describe it. Its inline policy (and tags,
    which ListRoles leaves out) come from `read_details`, run beside the other resources' reads."""
    name = ctx.spec.created_role_name
    if role is None:
        return RoleState(name=name, exists=False)
    trust = role.get("AssumeRolePolicyDocument")
    if isinstance(trust, str):
        trust = json.loads(unquote(trust))
    return RoleState(
        name=name,
        exists=True,
        arn=role["Arn"],
        trust_policy=trust,
        tags=tags_dict(role["Tags"]) if "Tags" in role else None,
        details_read=False,
        changed_at=role["CreateDate"].timestamp() if "CreateDate" in role else None,
    )


def read_details(ctx: Context, state: RoleState) -> RoleState:
    """Complete a created role's state: its inline policy, and its tags when the run reads tags
    (ListRoles leaves them out)."""
    if not state.exists or state.adopted or state.details_read:
        return state
    iam = ctx.client("iam")
    readers = {"inline_policy": lambda: read_inline_policy(ctx, iam, state.name)}
    if (ctx.with_tags or ctx.teardown) and state.tags is None:
        readers["tags"] = lambda: tags_dict(iam.list_role_tags(RoleName=state.name).get("Tags", []))
    return replace(state, details_read=True, **parallel_reads(readers))


def read_inline_policy(ctx: Context, iam: Any, role_name: str) -> dict[str, Any] | None:
    response = unless_missing(
        lambda: iam.get_role_policy(RoleName=role_name, PolicyName=policy_name(ctx)),
        {"NoSuchEntity"},
        None,
        f"reading the policy of role {role_name}",
    )
    if response is None:
        return None
    document = response["PolicyDocument"]
    return json.loads(unquote(document)) if isinstance(document, str) else document


def least_privilege_policy(ctx: Context) -> dict[str, Any]:
    """Exactly what the handler needs: put items in this table, write this function's logs, and
    send to the on-failure queue when there is one. No wildcard actions or resources."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteResults",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem"],
            "Resource": ctx.table_arn,
        },
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{ctx.log_group_arn}:*",
        },
    ]
    if ctx.spec.function.on_failure_queue:
        statements.append(
            {
                "Sid": "SendFailedEvents",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": ctx.queue_arn,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def plan(ctx: Context, state: RoleState) -> Change:
    if state.adopted:
        return Change(KIND, state.name, Action.UNCHANGED, ("existing role, used as is",))
    if not state.exists:
        return change_for(KIND, state.name, ["missing"], [Op.CREATE, Op.POLICY], exists=False)
    reasons, ops = [], []
    if state.trust_policy != trust_policy(ctx):
        reasons.append(
            f"trust policy differs (want lambda.amazonaws.com, from account {ctx.account_id} only)"
        )
        ops.append(Op.TRUST)
    if state.inline_policy != least_privilege_policy(ctx):
        reasons.append(
            "permissions policy missing"
            if state.inline_policy is None
            else "permissions policy differs"
        )
        ops.append(Op.POLICY)
    return change_for(KIND, state.name, reasons, ops, exists=True)


def apply(ctx: Context, state: RoleState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def create(ctx: Context, state: RoleState) -> None:
    try:
        ctx.client("iam").create_role(
            RoleName=state.name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(ctx)),
            Description=f"Execution role of {ctx.spec.function.name}, made by pipectl",
            Tags=tag_list(ctx.spec.tags),
        )
    except Exception as exc:
        code = error_code(exc)
        if code == "EntityAlreadyExists":
            return
        if code in {"AccessDenied", "AccessDeniedException"}:
            raise AwsError(
                f"you may not create IAM roles here (iam:CreateRole denied for {state.name})",
                "in an AWS Academy lab use `--role LabRole` (or role.mode: existing, "
                "role.name: LabRole)",
                code,
            ) from None
        raise translate(exc, f"creating role {state.name}") from None


def set_trust(ctx: Context, state: RoleState) -> None:
    ctx.client("iam").update_assume_role_policy(
        RoleName=state.name, PolicyDocument=json.dumps(trust_policy(ctx))
    )


def set_policy(ctx: Context, state: RoleState) -> None:
    ctx.client("iam").put_role_policy(
        RoleName=state.name,
        PolicyName=policy_name(ctx),
        PolicyDocument=json.dumps(least_privilege_policy(ctx)),
    )


def delete(ctx: Context, state: RoleState) -> None:
    """A role must lose its policies before DeleteRole."""
    iam = ctx.client("iam")
    for name in iam.list_role_policies(RoleName=state.name).get("PolicyNames", []):
        iam.delete_role_policy(RoleName=state.name, PolicyName=name)
    for policy in iam.list_attached_role_policies(RoleName=state.name).get("AttachedPolicies", []):
        iam.detach_role_policy(RoleName=state.name, PolicyArn=policy["PolicyArn"])
    unless_missing(lambda: iam.delete_role(RoleName=state.name), {"NoSuchEntity"}, None)


PERFORM = {Op.CREATE: create, Op.TRUST: set_trust, Op.POLICY: set_policy, Op.DELETE: delete}


def plan_destroy(ctx: Context, state: RoleState) -> Change:
    verdict = teardown_verdict(KIND, state, ctx.spec.pipeline)
    return verdict or Change(KIND, state.name, Action.DELETE, (), (Op.DELETE,))


def destroy(ctx: Context, state: RoleState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change
