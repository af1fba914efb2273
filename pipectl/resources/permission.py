"""The statement in the function's resource policy that lets S3 invoke it: principal
s3.amazonaws.com, SourceArn = this bucket and SourceAccount = this account (bucket ARNs carry no
account id, so both are needed against the confused deputy)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipectl.aws import error_code
from pipectl.context import Context
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import perform, unless_missing

KIND = "permission"


class Op(BaseOp):
    REMOVE = "remove", "lambda.RemovePermission"
    ADD = "add", "lambda.AddPermission"


@dataclass(frozen=True, kw_only=True)
class PermissionState(ResourceState):
    """pipectl's statement in the function's resource policy; `name` is its Sid."""

    statement: dict[str, Any] | None = None

    def managed(self, pipeline: str) -> bool:
        return self.exists  # found by pipectl's own Sid

    @property
    def sid(self) -> str:
        return self.name


def read(ctx: Context) -> PermissionState:
    sid, function_name = ctx.permission_sid, ctx.spec.function.name
    # Either the function or its policy missing means "no statement".
    response = unless_missing(
        lambda: ctx.client("lambda").get_policy(FunctionName=function_name),
        {"ResourceNotFoundException"},
        None,
        f"reading the policy of {function_name}",
    )
    policy = json.loads(response["Policy"]) if response else {}
    statement = next((s for s in policy.get("Statement", []) if s.get("Sid") == sid), None)
    return PermissionState(name=sid, exists=statement is not None, statement=statement)


def wanted_conditions(ctx: Context) -> dict[str, Any]:
    return {
        "StringEquals": {"AWS:SourceAccount": ctx.account_id},
        "ArnLike": {"AWS:SourceArn": ctx.bucket_arn},
    }


def statement_drift(ctx: Context, statement: dict[str, Any]) -> list[str]:
    drift = []
    principal = statement.get("Principal", {})
    service = principal.get("Service") if isinstance(principal, dict) else principal
    if service != "s3.amazonaws.com":
        drift.append(f"principal {service}, want s3.amazonaws.com")
    if statement.get("Action") != "lambda:InvokeFunction":
        drift.append(f"action {statement.get('Action')}, want lambda:InvokeFunction")
    conditions = statement.get("Condition", {})
    source_arn = conditions.get("ArnLike", {}).get("AWS:SourceArn")
    source_account = conditions.get("StringEquals", {}).get("AWS:SourceAccount")
    if source_arn != ctx.bucket_arn:
        drift.append(f"source ARN {source_arn}, want {ctx.bucket_arn}")
    if source_account != ctx.account_id:
        drift.append(f"source account {source_account}, want {ctx.account_id}")
    return drift


def plan(ctx: Context, state: PermissionState) -> Change:
    if not state.exists:
        return change_for(KIND, state.name, ["missing"], [Op.ADD], exists=False)
    drift = statement_drift(ctx, state.statement or {})
    return change_for(KIND, state.name, drift, [Op.REMOVE, Op.ADD] if drift else [], exists=True)


def apply(ctx: Context, state: PermissionState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def add(ctx: Context, state: PermissionState) -> None:
    try:
        ctx.client("lambda").add_permission(
            FunctionName=ctx.spec.function.name,
            StatementId=state.name,
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn=ctx.bucket_arn,
            SourceAccount=ctx.account_id,
        )
    except Exception as exc:
        if error_code(exc) != "ResourceConflictException":  # the same Sid is already there
            raise


def remove(ctx: Context, state: PermissionState) -> None:
    unless_missing(
        lambda: ctx.client("lambda").remove_permission(
            FunctionName=ctx.spec.function.name, StatementId=state.name
        ),
        {"ResourceNotFoundException"},
        None,
    )


PERFORM = {Op.REMOVE: remove, Op.ADD: add}


def plan_destroy(ctx: Context, state: PermissionState) -> Change:
    if not state.exists:
        return Change(KIND, state.name, Action.UNCHANGED, ("does not exist",))
    return Change(KIND, state.name, Action.DELETE, ("pipectl's statement only",), (Op.REMOVE,))


def destroy(ctx: Context, state: PermissionState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change
