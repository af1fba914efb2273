"""The results table: partition key `file_name` (String), on-demand billing. A table that exists
with another key schema is an error, never silently reused or replaced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipectl.aws import error_code, translate
from pipectl.errors import AwsError, PipectlError
from pipectl.plan import Action, Change, Context, change_for
from pipectl.resources.common import delete_quietly, tag_list, tags_dict, teardown_verdict

KIND = "table"


@dataclass(frozen=True)
class TableState:
    name: str
    exists: bool
    key_schema: tuple[tuple[str, str, str], ...] = ()  # (attribute, KeyType, AttributeType)
    billing_mode: str = ""
    status: str = ""
    arn: str = ""
    tags: dict[str, str] | None = None


def read(ctx: Context, with_tags: bool = False) -> TableState:
    name = ctx.spec.table.name
    dynamodb = ctx.client("dynamodb")
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return TableState(name, exists=False)
        raise translate(exc, f"reading table {name}") from None
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    keys = tuple(
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in table["KeySchema"]
    )
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    tags = read_tags(dynamodb, table["TableArn"]) if with_tags else None
    return TableState(
        name,
        True,
        keys,
        billing,
        table.get("TableStatus", ""),
        table["TableArn"],
        tags,
    )


def read_tags(dynamodb: Any, arn: str) -> dict[str, str]:
    return tags_dict(dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))


def wanted_keys(ctx: Context) -> tuple[tuple[str, str, str], ...]:
    return ((ctx.spec.table.partition_key, "HASH", "S"),)


def plan(ctx: Context, state: TableState) -> Change:
    if not state.exists:
        return change_for(KIND, state.name, ["missing"], ["create"], exists=False)
    if state.key_schema != wanted_keys(ctx):
        have = ", ".join(f"{a} {k} ({t})" for a, k, t in state.key_schema)
        raise AwsError(
            f"table {state.name} exists with key schema {have}; pipectl needs "
            f"{ctx.spec.table.partition_key} HASH (S)",
            "set table.name to another name, or delete that table yourself",
            "KeySchemaMismatch",
        )
    if state.billing_mode != "PAY_PER_REQUEST":
        return change_for(
            KIND,
            state.name,
            [f"billing {state.billing_mode}, want PAY_PER_REQUEST"],
            ["billing"],
            exists=True,
        )
    return change_for(KIND, state.name, [], [], exists=True)


def key_schema_problem(ctx: Context, state: TableState) -> str | None:
    """For status: the same mismatch `plan` refuses, as a drift line."""
    try:
        plan(ctx, state)
    except PipectlError as exc:
        return exc.message
    return None


def apply(ctx: Context, state: TableState, change: Change) -> Change:
    dynamodb = ctx.client("dynamodb")
    key = ctx.spec.table.partition_key
    if "create" in change.ops:
        response = dynamodb.create_table(
            TableName=state.name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=tag_list(ctx.spec.tags),
        )
        wait_active(ctx, response["TableDescription"].get("TableStatus", ""))
    if "billing" in change.ops:
        response = dynamodb.update_table(TableName=state.name, BillingMode="PAY_PER_REQUEST")
        wait_active(ctx, response["TableDescription"].get("TableStatus", ""))
    return change


def wait_active(ctx: Context, status: str) -> None:
    """Poll every second (boto3's table_exists waiter sleeps 20 s between polls)."""
    if status == "ACTIVE":
        return
    waiter = ctx.client("dynamodb").get_waiter("table_exists")
    attempts = max(1, int(ctx.deadlines.ready))
    waiter.wait(TableName=ctx.spec.table.name, WaiterConfig={"Delay": 1, "MaxAttempts": attempts})


def plan_destroy(ctx: Context, state: TableState, delete_data: bool) -> Change:
    verdict = teardown_verdict(KIND, state.name, state.exists, state.tags, ctx.spec.pipeline)
    if verdict:
        return verdict
    if not has_items(ctx, state.name):
        return Change(KIND, state.name, Action.DELETE, ("holds no items",), ("delete",))
    if not delete_data:
        return Change(
            KIND, state.name, Action.KEEP, ("holds items: pass --delete-data to delete it",)
        )
    return Change(KIND, state.name, Action.DELETE, ("with its items (--delete-data)",), ("delete",))


def has_items(ctx: Context, name: str) -> bool:
    """ItemCount is refreshed only every ~6 hours on AWS: ask for one item instead."""
    response = ctx.client("dynamodb").scan(TableName=name, Limit=1, Select="COUNT")
    return response.get("Count", 0) > 0 or "LastEvaluatedKey" in response


def destroy(ctx: Context, state: TableState, change: Change) -> Change:
    if "delete" in change.ops:
        delete_quietly(
            lambda: ctx.client("dynamodb").delete_table(TableName=state.name),
            {"ResourceNotFoundException"},
        )
    return change
