"""The statement in the function's resource policy that lets S3 invoke it: principal
s3.amazonaws.com, SourceArn = this bucket and SourceAccount = this account (bucket ARNs carry no
account id, so both are needed against the confused deputy)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipectl.aws import error_code, translate
from pipectl.plan import Action, Change, Context, change_for

KIND = "permission"


@dataclass(frozen=True)
class PermissionState:
    sid: str
    exists: bool
    statement: dict[str, Any] | None = None


def read(ctx: Context, with_tags: bool = False) -> PermissionState:
    sid = ctx.permission_sid
    try:
        policy = json.loads(
            ctx.client("lambda").get_policy(FunctionName=ctx.spec.function.name)["Policy"]
        )
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            # Either the function or its policy is missing; both mean "no statement".
            return PermissionState(sid, exists=False)
        raise translate(exc, f"reading the policy of {ctx.spec.function.name}") from None
    statement = next((s for s in policy.get("Statement", []) if s.get("Sid") == sid), None)
    return PermissionState(sid, statement is not None, statement)


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
        return change_for(KIND, state.sid, ["missing"], ["add"], exists=False)
    drift = statement_drift(ctx, state.statement or {})
    return change_for(KIND, state.sid, drift, ["remove", "add"] if drift else [], exists=True)


def apply(ctx: Context, state: PermissionState, change: Change) -> Change:
    lam = ctx.client("lambda")
    if "remove" in change.ops:
        remove(ctx, lam)
    if "add" in change.ops:
        try:
            lam.add_permission(
                FunctionName=ctx.spec.function.name,
                StatementId=state.sid,
                Action="lambda:InvokeFunction",
                Principal="s3.amazonaws.com",
                SourceArn=ctx.bucket_arn,
                SourceAccount=ctx.account_id,
            )
        except Exception as exc:
            if error_code(exc) != "ResourceConflictException":  # the same Sid is already there
                raise
    return change


def remove(ctx: Context, lam: Any) -> None:
    try:
        lam.remove_permission(FunctionName=ctx.spec.function.name, StatementId=ctx.permission_sid)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise


def plan_destroy(ctx: Context, state: PermissionState, delete_data: bool) -> Change:
    if not state.exists:
        return Change(KIND, state.sid, Action.UNCHANGED, ("does not exist",))
    return Change(KIND, state.sid, Action.DELETE, ("pipectl's statement only",), ("remove",))


def destroy(ctx: Context, state: PermissionState, change: Change) -> Change:
    if "remove" in change.ops:
        remove(ctx, ctx.client("lambda"))
    return change
