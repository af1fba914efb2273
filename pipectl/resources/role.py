"""The function's execution role: an existing one (LabRole & co. in AWS Academy labs, or any name
given) or a least-privilege role pipectl creates."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from pipectl.aws import error_code, translate
from pipectl.config import LAB_ROLES
from pipectl.errors import AwsError, UsageError
from pipectl.plan import Action, Change, Context, change_for
from pipectl.resources.common import owned, parallel_reads, tag_list, tags_dict

KIND = "role"
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


@dataclass(frozen=True)
class RoleState:
    name: str
    exists: bool
    arn: str = ""
    adopted: bool = False  # an existing role pipectl uses but does not manage
    trust_policy: dict[str, Any] | None = None
    inline_policy: dict[str, Any] | None = None
    tags: dict[str, str] | None = None
    details_read: bool = True  # False until read_details has read the inline policy

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4] if self.arn.count(":") >= 5 else ""


def policy_name(ctx: Context) -> str:
    return f"pipectl-{ctx.spec.pipeline}"


def read(ctx: Context, with_tags: bool = False, missing_ok: bool = False) -> RoleState:
    """Find the role the function will use. Needs no account id: this read supplies it.
    (`with_tags` is for the common read signature: a created role's tags come from read_details.)

    A configured existing role that is missing is an error for `up`; `status` and `down` pass
    `missing_ok` and get a missing adopted role instead (nothing of pipectl's to report or remove).
    """
    mode, name = ctx.spec.role.mode, ctx.spec.role.name
    iam = ctx.client("iam")
    if mode == "existing":
        role = get_role(iam, name or "")
        if role is None:
            if missing_ok:
                return RoleState(name or "", exists=False, adopted=True)
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
        return RoleState(name, exists=False)
    return read_created(ctx, roles.get(ctx.spec.created_role_name))


def adopted(role: dict[str, Any]) -> RoleState:
    return RoleState(role["RoleName"], True, role["Arn"], adopted=True)


def get_role(iam: Any, name: str) -> dict[str, Any] | None:
    try:
        return iam.get_role(RoleName=name)["Role"]
    except Exception as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise translate(exc, f"reading role {name}") from None


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
        return RoleState(name, exists=False)
    trust = role.get("AssumeRolePolicyDocument")
    if isinstance(trust, str):
        trust = json.loads(unquote(trust))
    tags = tags_dict(role["Tags"]) if "Tags" in role else None
    return RoleState(name, True, role["Arn"], False, trust, None, tags, details_read=False)


def read_details(ctx: Context, state: RoleState, with_tags: bool = False) -> RoleState:
    """Complete a created role's state: its inline policy, and its tags when asked for."""
    if not state.exists or state.adopted or state.details_read:
        return state
    iam = ctx.client("iam")
    readers = {"inline_policy": lambda: read_inline_policy(ctx, iam, state.name)}
    if with_tags and state.tags is None:
        readers["tags"] = lambda: tags_dict(iam.list_role_tags(RoleName=state.name).get("Tags", []))
    return replace(state, details_read=True, **parallel_reads(readers))


def read_inline_policy(ctx: Context, iam: Any, role_name: str) -> dict[str, Any] | None:
    try:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name(ctx))[
            "PolicyDocument"
        ]
    except Exception as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise translate(exc, f"reading the policy of role {role_name}") from None
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
    state = read_details(ctx, state)  # a no-op when observe already read them
    if state.adopted:
        return Change(KIND, state.name, Action.UNCHANGED, ("existing role, used as is",))
    if not state.exists:
        return change_for(KIND, state.name, ["missing"], ["create", "policy"], exists=False)
    reasons, ops = [], []
    if state.trust_policy != TRUST_POLICY:
        reasons.append("trust policy differs (want lambda.amazonaws.com only)")
        ops.append("trust")
    if state.inline_policy != least_privilege_policy(ctx):
        reasons.append(
            "permissions policy missing"
            if state.inline_policy is None
            else "permissions policy differs"
        )
        ops.append("policy")
    return change_for(KIND, state.name, reasons, ops, exists=True)


def apply(ctx: Context, state: RoleState, change: Change) -> Change:
    iam = ctx.client("iam")
    if "create" in change.ops:
        create(ctx, iam, state.name)
    if "trust" in change.ops:
        iam.update_assume_role_policy(RoleName=state.name, PolicyDocument=json.dumps(TRUST_POLICY))
    if "policy" in change.ops:
        iam.put_role_policy(
            RoleName=state.name,
            PolicyName=policy_name(ctx),
            PolicyDocument=json.dumps(least_privilege_policy(ctx)),
        )
    return change


def create(ctx: Context, iam: Any, name: str) -> None:
    try:
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description=f"Execution role of {ctx.spec.function.name}, made by pipectl",
            Tags=tag_list(ctx.spec.tags),
        )
    except Exception as exc:
        code = error_code(exc)
        if code == "EntityAlreadyExists":
            return
        if code in {"AccessDenied", "AccessDeniedException"}:
            raise AwsError(
                f"you may not create IAM roles here (iam:CreateRole denied for {name})",
                "in an AWS Academy lab use `--role LabRole` (or role.mode: existing, "
                "role.name: LabRole)",
                code,
            ) from None
        raise translate(exc, f"creating role {name}") from None


def plan_destroy(ctx: Context, state: RoleState, delete_data: bool) -> Change:
    if not state.exists:
        return Change(KIND, state.name, Action.UNCHANGED, ("does not exist",))
    if state.adopted or not owned(state.tags, ctx.spec.pipeline):
        return Change(KIND, state.name, Action.KEEP, ("not created by pipectl",))
    return Change(KIND, state.name, Action.DELETE, (), ("delete",))


def destroy(ctx: Context, state: RoleState, change: Change) -> Change:
    if "delete" not in change.ops:
        return change
    iam = ctx.client("iam")
    for name in iam.list_role_policies(RoleName=state.name).get("PolicyNames", []):
        iam.delete_role_policy(RoleName=state.name, PolicyName=name)
    for policy in iam.list_attached_role_policies(RoleName=state.name).get("AttachedPolicies", []):
        iam.detach_role_policy(RoleName=state.name, PolicyArn=policy["PolicyArn"])
    try:
        iam.delete_role(RoleName=state.name)
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    return change
