import boto3
import pytest

from pipectl.errors import AwsError
from pipectl.plan import Action
from pipectl.resources import table


def tagged(ctx):
    """The context of a run that reads tags (status, down)."""
    ctx.with_tags = True
    return ctx


def converge(ctx):
    state = table.read(ctx)
    return table.apply(ctx, state, table.plan(ctx, state))


def test_create_on_demand_with_string_hash_key_and_tags(make_ctx):
    ctx, _ = make_ctx()
    assert converge(ctx).action is Action.CREATE
    described = ctx.client("dynamodb").describe_table(TableName="ProcessedResults")["Table"]
    assert described["KeySchema"] == [{"AttributeName": "file_name", "KeyType": "HASH"}]
    assert described["AttributeDefinitions"] == [
        {"AttributeName": "file_name", "AttributeType": "S"}
    ]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    state = table.read(tagged(ctx))
    assert state.tags == {"managed-by": "pipectl", "pipectl-pipeline": "serverless-data"}
    assert table.plan(ctx, state).action is Action.UNCHANGED


def test_other_key_schema_is_an_error_not_a_reuse(make_ctx):
    ctx, _ = make_ctx()
    boto3.client("dynamodb").create_table(
        TableName="ProcessedResults",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    change = table.plan(ctx, table.read(ctx))
    assert change.action is Action.FAILED
    with pytest.raises(AwsError, match=r"key schema id HASH \(N\).*file_name HASH \(S\)"):
        raise change.problem


def test_provisioned_table_is_switched_to_on_demand(make_ctx):
    ctx, _ = make_ctx()
    boto3.client("dynamodb").create_table(
        TableName="ProcessedResults",
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    change = table.plan(ctx, table.read(ctx))
    assert change.reasons == ("billing PROVISIONED, want PAY_PER_REQUEST",)
    table.apply(ctx, table.read(ctx), change)
    assert table.plan(ctx, table.read(ctx)).action is Action.UNCHANGED


@pytest.mark.timeout(15)
def test_creating_table_is_awaited_with_short_polls(make_ctx):
    """A table still CREATING is polled every second: with boto3's default 20 s delay this test
    would hit its timeout."""
    ctx, _ = make_ctx()
    statuses = iter(["CREATING", "CREATING"])
    polls = []

    def creating(parsed, **_):
        parsed["TableDescription"]["TableStatus"] = "CREATING"

    def still_creating(parsed, **_):
        polls.append(1)
        parsed["Table"]["TableStatus"] = next(statuses, "ACTIVE")

    client = ctx.client("dynamodb")
    state = table.read(ctx)
    client.meta.events.register("after-call.dynamodb.CreateTable", creating)
    client.meta.events.register("after-call.dynamodb.DescribeTable", still_creating)
    table.apply(ctx, state, table.plan(ctx, state))
    assert len(polls) == 3  # CREATING, CREATING, ACTIVE
