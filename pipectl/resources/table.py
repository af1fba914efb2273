"""The results table: partition key `file_name` (String), on-demand billing, and with
`security: strict` the protections in table_protection.py. A table that exists with another key
schema is a problem `up` refuses, never silently reused or replaced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipectl.context import Context
from pipectl.errors import AwsError
from pipectl.plan import Action, Change, change_for, change_for_drifts
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import (
    delete_quietly,
    parallel_reads,
    perform,
    tag_list,
    tags_dict,
    teardown_verdict,
    unless_missing,
)
from pipectl.resources.table_protection import (
    deletion_protection_drift,
    enable_pitr,
    encryption_drift,
    pitr_drift,
    read_pitr,
    sse_type,
    strict_create_args,
    update_table,
)

KIND = "table"


class Op(BaseOp):
    CREATE = "create", "dynamodb.CreateTable", "dynamodb.DescribeTable"
    BILLING = "billing", "dynamodb.UpdateTable", "dynamodb.DescribeTable"
    ENCRYPTION = "encryption", "dynamodb.UpdateTable", "dynamodb.DescribeTable"
    DELETION_PROTECTION = "deletion_protection", "dynamodb.UpdateTable", "dynamodb.DescribeTable"
    POINT_IN_TIME_RECOVERY = "point_in_time_recovery", "dynamodb.UpdateContinuousBackups"
    UNPROTECT = "unprotect", "dynamodb.UpdateTable", "dynamodb.DescribeTable"
    DELETE = "delete", "dynamodb.DeleteTable"


@dataclass(frozen=True, kw_only=True)
class TableState(ResourceState):
    key_schema: tuple[tuple[str, str, str], ...] = ()  # (attribute, KeyType, AttributeType)
    billing_mode: str = ""
    status: str = ""
    arn: str = ""
    sse: str = ""  # "KMS", or "" for a key AWS owns (the default)
    deletion_protection: bool = False
    pitr: bool | None = None  # read only with security: strict
    holds_items: bool | None = None  # read only for teardown


def read(ctx: Context) -> TableState:
    name = ctx.spec.table.name
    dynamodb = ctx.client("dynamodb")
    response = unless_missing(
        lambda: dynamodb.describe_table(TableName=name),
        {"ResourceNotFoundException"},
        None,
        f"reading table {name}",
    )
    if response is None:
        return TableState(name=name, exists=False)
    table = response["Table"]
    readers: dict[str, Any] = {}
    if ctx.with_tags or ctx.teardown:
        readers["tags"] = lambda: read_tags(dynamodb, table["TableArn"])
    if ctx.teardown:
        readers["holds_items"] = lambda: holds_items(dynamodb, name)
    if ctx.spec.strict:
        readers["pitr"] = lambda: read_pitr(dynamodb, name)
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    keys = tuple(
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in table["KeySchema"]
    )
    return TableState(
        name=name,
        exists=True,
        key_schema=keys,
        billing_mode=table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        status=table.get("TableStatus", ""),
        arn=table["TableArn"],
        changed_at=epoch(table.get("CreationDateTime")),
        sse=sse_type(table),
        deletion_protection=bool(table.get("DeletionProtectionEnabled")),
        **parallel_reads(readers),
    )


def epoch(moment: Any) -> float | None:
    return moment.timestamp() if hasattr(moment, "timestamp") else None


def read_tags(dynamodb: Any, arn: str) -> dict[str, str]:
    return tags_dict(dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))


def holds_items(dynamodb: Any, name: str) -> bool:
    """ItemCount is refreshed only every ~6 hours on AWS: ask for one item instead."""
    response = dynamodb.scan(TableName=name, Limit=1, Select="COUNT")
    return response.get("Count", 0) > 0 or "LastEvaluatedKey" in response


def wanted_keys(ctx: Context) -> tuple[tuple[str, str, str], ...]:
    return ((ctx.spec.table.partition_key, "HASH", "S"),)


def key_schema_problem(ctx: Context, state: TableState) -> AwsError | None:
    """A table that exists keyed otherwise cannot be used, nor replaced by pipectl."""
    if not state.exists or state.key_schema == wanted_keys(ctx):
        return None
    have = ", ".join(f"{a} {k} ({t})" for a, k, t in state.key_schema)
    return AwsError(
        f"table {state.name} exists with key schema {have}; pipectl needs "
        f"{ctx.spec.table.partition_key} HASH (S)",
        "set table.name to another name, or delete that table yourself",
        "KeySchemaMismatch",
    )


def plan(ctx: Context, state: TableState) -> Change:
    if not state.exists:
        ops = [Op.CREATE, Op.POINT_IN_TIME_RECOVERY] if ctx.spec.strict else [Op.CREATE]
        return change_for(KIND, state.name, ["missing"], ops, exists=False)
    problem = key_schema_problem(ctx, state)
    if problem is not None:
        return Change(KIND, state.name, Action.FAILED, (problem.message,), problem=problem)
    billing = (
        [f"billing {state.billing_mode}, want PAY_PER_REQUEST"]
        if state.billing_mode != "PAY_PER_REQUEST"
        else []
    )
    drifts = (
        (billing, Op.BILLING),
        (encryption_drift(ctx, state.sse), Op.ENCRYPTION),
        (deletion_protection_drift(ctx, state.deletion_protection), Op.DELETION_PROTECTION),
        (pitr_drift(ctx, state.pitr), Op.POINT_IN_TIME_RECOVERY),
    )
    return change_for_drifts(KIND, state.name, drifts)


def apply(ctx: Context, state: TableState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def create(ctx: Context, state: TableState) -> None:
    key = ctx.spec.table.partition_key
    response = ctx.client("dynamodb").create_table(
        TableName=state.name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tag_list(ctx.spec.tags),
        **strict_create_args(ctx),
    )
    wait_active(ctx, response["TableDescription"].get("TableStatus", ""))


def set_billing(ctx: Context, state: TableState) -> None:
    wait_active(ctx, update_table(ctx, state.name, BillingMode="PAY_PER_REQUEST"))


def set_encryption(ctx: Context, state: TableState) -> None:
    """SSE under the AWS-managed key: SSEType KMS without a key id."""
    sse = {"Enabled": True, "SSEType": "KMS"}
    wait_active(ctx, update_table(ctx, state.name, SSESpecification=sse))


def protect(ctx: Context, state: TableState) -> None:
    wait_active(ctx, update_table(ctx, state.name, DeletionProtectionEnabled=True))


def unprotect(ctx: Context, state: TableState) -> None:
    """Lift deletion protection so that DeleteTable can succeed (a table pipectl owns only:
    plan_destroy never plans this for an adopted table)."""
    wait_active(ctx, update_table(ctx, state.name, DeletionProtectionEnabled=False))


def set_pitr(ctx: Context, state: TableState) -> None:
    enable_pitr(ctx, state.name)


def wait_active(ctx: Context, status: str) -> None:
    """Poll every second (boto3's table_exists waiter sleeps 20 s between polls)."""
    if status == "ACTIVE":
        return
    waiter = ctx.client("dynamodb").get_waiter("table_exists")
    attempts = max(1, int(ctx.deadlines.ready))
    waiter.wait(TableName=ctx.spec.table.name, WaiterConfig={"Delay": 1, "MaxAttempts": attempts})


def delete(ctx: Context, state: TableState) -> None:
    delete_quietly(
        lambda: ctx.client("dynamodb").delete_table(TableName=state.name),
        {"ResourceNotFoundException"},
    )


PERFORM = {
    Op.CREATE: create,
    Op.BILLING: set_billing,
    Op.ENCRYPTION: set_encryption,
    Op.DELETION_PROTECTION: protect,
    Op.POINT_IN_TIME_RECOVERY: set_pitr,
    Op.UNPROTECT: unprotect,
    Op.DELETE: delete,
}


def plan_destroy(ctx: Context, state: TableState) -> Change:
    verdict = teardown_verdict(KIND, state, ctx.spec.pipeline)
    if verdict:
        return verdict
    if state.holds_items and not ctx.delete_data:
        return Change(
            KIND, state.name, Action.KEEP, ("holds items: pass --delete-data to delete it",)
        )
    reason = "with its items (--delete-data)" if state.holds_items else "holds no items"
    if state.deletion_protection:
        return Change(
            KIND,
            state.name,
            Action.DELETE,
            (f"{reason}; its deletion protection lifted first",),
            (Op.UNPROTECT, Op.DELETE),
        )
    return Change(KIND, state.name, Action.DELETE, (reason,), (Op.DELETE,))


def destroy(ctx: Context, state: TableState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change
