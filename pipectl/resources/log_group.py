"""The function's log group, made before the function so it has a retention period and tags
(Lambda would otherwise create it on first invoke, keeping logs forever and outliving `down`)."""

from __future__ import annotations

from dataclasses import dataclass

from pipectl.aws import error_code, translate
from pipectl.plan import Action, Change, Context, change_for
from pipectl.resources.common import delete_quietly, teardown_verdict

KIND = "log_group"


@dataclass(frozen=True)
class LogGroupState:
    name: str
    exists: bool
    retention_days: int | None = None
    tags: dict[str, str] | None = None


def read(ctx: Context, with_tags: bool = False) -> LogGroupState:
    name = ctx.log_group_name
    logs = ctx.client("logs")
    try:
        groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    except Exception as exc:
        raise translate(exc, f"reading log group {name}") from None
    group = next((g for g in groups if g["logGroupName"] == name), None)
    if group is None:
        return LogGroupState(name, exists=False)
    tags = None
    if with_tags:
        tags = logs.list_tags_for_resource(resourceArn=ctx.log_group_arn).get("tags", {})
    return LogGroupState(name, True, group.get("retentionInDays"), tags)


def plan(ctx: Context, state: LogGroupState) -> Change:
    if not state.exists:
        return change_for(KIND, state.name, ["missing"], ["create", "retention"], exists=False)
    wanted = ctx.spec.function.log_retention_days
    if state.retention_days != wanted:
        have = f"{state.retention_days} days" if state.retention_days else "never expire"
        return change_for(
            KIND, state.name, [f"retention {have}, want {wanted} days"], ["retention"], True
        )
    return change_for(KIND, state.name, [], [], exists=True)


def apply(ctx: Context, state: LogGroupState, change: Change) -> Change:
    logs = ctx.client("logs")
    if "create" in change.ops:
        try:
            logs.create_log_group(logGroupName=state.name, tags=dict(ctx.spec.tags))
        except Exception as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
    if "retention" in change.ops:
        logs.put_retention_policy(
            logGroupName=state.name, retentionInDays=ctx.spec.function.log_retention_days
        )
    return change


def plan_destroy(ctx: Context, state: LogGroupState, delete_data: bool) -> Change:
    verdict = teardown_verdict(KIND, state.name, state.exists, state.tags, ctx.spec.pipeline)
    return verdict or Change(KIND, state.name, Action.DELETE, (), ("delete",))


def destroy(ctx: Context, state: LogGroupState, change: Change) -> Change:
    if "delete" in change.ops:
        delete_quietly(
            lambda: ctx.client("logs").delete_log_group(logGroupName=state.name),
            {"ResourceNotFoundException"},
        )
    return change
