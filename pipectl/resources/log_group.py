"""The function's log group, made before the function so it has a retention period and tags
(Lambda would otherwise create it on first invoke, keeping logs forever and outliving `down`)."""

from __future__ import annotations

from dataclasses import dataclass

from pipectl.aws import error_code, translate
from pipectl.context import Context
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import delete_quietly, perform, teardown_verdict

KIND = "log_group"
STRICT_RETENTION_DAYS = 365


class Op(BaseOp):
    CREATE = "create", "logs.CreateLogGroup"
    RETENTION = "retention", "logs.PutRetentionPolicy"
    DELETE = "delete", "logs.DeleteLogGroup"


# The function needs the group to exist (else Lambda makes its own, untagged and never expiring);
# the retention period is set while the function is being created.
LATE_OPS = (Op.RETENTION,)


@dataclass(frozen=True, kw_only=True)
class LogGroupState(ResourceState):
    retention_days: int | None = None


def read(ctx: Context) -> LogGroupState:
    name = ctx.log_group_name
    logs = ctx.client("logs")
    try:
        groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    except Exception as exc:
        raise translate(exc, f"reading log group {name}") from None
    group = next((g for g in groups if g["logGroupName"] == name), None)
    if group is None:
        return LogGroupState(name=name, exists=False)
    tags = None
    if ctx.with_tags or ctx.teardown:
        tags = logs.list_tags_for_resource(resourceArn=ctx.log_group_arn).get("tags", {})
    created_ms = group.get("creationTime")
    return LogGroupState(
        name=name,
        exists=True,
        retention_days=group.get("retentionInDays"),
        tags=tags,
        changed_at=created_ms / 1000 if created_ms else None,
    )


def plan(ctx: Context, state: LogGroupState) -> Change:
    if not state.exists:
        return change_for(KIND, state.name, ["missing"], [Op.CREATE, Op.RETENTION], exists=False)
    wanted = retention_days(ctx)
    if state.retention_days != wanted:
        have = f"{state.retention_days} days" if state.retention_days else "never expire"
        why = " (security: strict)" if wanted != ctx.spec.function.log_retention_days else ""
        reason = f"retention {have}, want {wanted} days{why}"
        return change_for(KIND, state.name, [reason], [Op.RETENTION], exists=True)
    return change_for(KIND, state.name, [], [], exists=True)


def retention_days(ctx: Context) -> int:
    """function.log_retention_days; `security: strict` keeps logs at least a year (the usual
    audit horizon, and what scanners check), longer when configured longer."""
    configured = ctx.spec.function.log_retention_days
    return max(configured, STRICT_RETENTION_DAYS) if ctx.spec.strict else configured


def create(ctx: Context, state: LogGroupState) -> None:
    try:
        ctx.client("logs").create_log_group(logGroupName=state.name, tags=dict(ctx.spec.tags))
    except Exception as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise


def set_retention(ctx: Context, state: LogGroupState) -> None:
    ctx.client("logs").put_retention_policy(
        logGroupName=state.name, retentionInDays=retention_days(ctx)
    )


def delete(ctx: Context, state: LogGroupState) -> None:
    delete_quietly(
        lambda: ctx.client("logs").delete_log_group(logGroupName=state.name),
        {"ResourceNotFoundException"},
    )


PERFORM = {Op.CREATE: create, Op.RETENTION: set_retention, Op.DELETE: delete}


def apply(ctx: Context, state: LogGroupState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def plan_destroy(ctx: Context, state: LogGroupState) -> Change:
    verdict = teardown_verdict(KIND, state, ctx.spec.pipeline)
    return verdict or Change(KIND, state.name, Action.DELETE, (), (Op.DELETE,))


def destroy(ctx: Context, state: LogGroupState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change
