import json

import boto3
import pytest

from pipectl import packaging
from pipectl.errors import AwsError
from pipectl.plan import Action
from pipectl.resources import bucket, function, permission, role, trigger

CANNOT_VALIDATE = "Unable to validate the following destination configurations"


def packaged(ctx, package):
    """The context of a run that deploys `package` (up and status build it first)."""
    ctx.package = package
    return ctx


@pytest.fixture
def ready(make_ctx):
    """Bucket, function and permission in place: what the trigger step runs after."""
    boto3.client("iam").create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(role.TRUST_POLICY)
    )

    def build(spec=None):
        ctx, _ = make_ctx(spec)
        package = packaging.build()
        for module in (bucket, permission):
            state = module.read(ctx)
            if module is permission:
                fstate = function.read(ctx)
                function.apply(ctx, fstate, function.plan(packaged(ctx, package), fstate))
                state = module.read(ctx)
            module.apply(ctx, state, module.plan(ctx, state))
        return ctx

    return build


def converge(ctx):
    state = trigger.read(ctx)
    return trigger.apply(ctx, state, trigger.plan(ctx, state))


def notification(ctx):
    response = boto3.client("s3").get_bucket_notification_configuration(Bucket=ctx.bucket_name)
    response.pop("ResponseMetadata")
    return response


def test_permission_names_bucket_and_account(ready):
    ctx = ready()
    policy = json.loads(
        boto3.client("lambda").get_policy(FunctionName="serverless-data-processor")["Policy"]
    )
    [statement] = policy["Statement"]
    assert statement["Sid"] == "pipectl-serverless-data-s3-invoke"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == ctx.bucket_arn
    assert statement["Condition"]["StringEquals"]["AWS:SourceAccount"] == "123456789012"
    assert permission.plan(ctx, permission.read(ctx)).action is Action.UNCHANGED


def test_duplicate_statement_id_means_already_there(ready, faults):
    ctx = ready()
    faults.add(
        "lambda.AddPermission",
        "ResourceConflictException",
        "The statement id provided already exists",
    )
    state = permission.PermissionState(ctx.permission_sid, exists=False)
    assert permission.apply(ctx, state, permission.plan(ctx, state)).action is Action.CREATE
    assert faults.fired == ["lambda.AddPermission"]


def test_trigger_created_with_events_and_filters(ready, spec_with):
    ctx = ready(spec_with(trigger={"prefix": "incoming/", "suffix": ".csv"}))
    assert converge(ctx).action is Action.CREATE
    [entry] = notification(ctx)["LambdaFunctionConfigurations"]
    assert entry["Id"] == "pipectl-serverless-data"
    assert entry["LambdaFunctionArn"] == ctx.function_arn
    assert entry["Events"] == ["s3:ObjectCreated:*"]
    rules = {r["Name"].lower(): r["Value"] for r in entry["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "incoming/", "suffix": ".csv"}
    assert trigger.plan(ctx, trigger.read(ctx)).action is Action.UNCHANGED


def test_suffix_change_updates_only_the_trigger(ready, spec_with):
    ctx = ready()
    converge(ctx)
    ctx = ready(spec_with(trigger={"suffix": ".jpg"}))
    change = trigger.plan(ctx, trigger.read(ctx))
    assert change.reasons == ("suffix '', want '.jpg'",)


def test_foreign_entries_are_kept(ready):
    ctx = ready()
    s3 = boto3.client("s3")
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="their-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    foreign_fn = {
        "Id": "their-function",
        "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:theirs",
        "Events": ["s3:ObjectRemoved:*"],
    }
    foreign_queue = {
        "Id": "their-queue",
        "QueueArn": queue_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "logs/"}]}},
    }
    s3.put_bucket_notification_configuration(
        Bucket=ctx.bucket_name,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [foreign_fn],
            "QueueConfigurations": [foreign_queue],
        },
    )
    before = notification(ctx)
    converge(ctx)
    after = notification(ctx)
    assert after["QueueConfigurations"] == before["QueueConfigurations"]
    ids = [e["Id"] for e in after["LambdaFunctionConfigurations"]]
    assert ids == ["their-function", "pipectl-serverless-data"]
    assert after["LambdaFunctionConfigurations"][0] == before["LambdaFunctionConfigurations"][0]


def test_merge_replaces_only_our_entry():
    config = {
        "LambdaFunctionConfigurations": [{"Id": "a"}, {"Id": "pipectl-x", "Events": ["old"]}],
        "TopicConfigurations": [{"Id": "t"}],
        "EventBridgeConfiguration": {},
    }
    merged = trigger.merged(config, {"Id": "pipectl-x", "Events": ["new"]}, "pipectl-x")
    assert merged["LambdaFunctionConfigurations"] == [
        {"Id": "a"},
        {"Id": "pipectl-x", "Events": ["new"]},
    ]
    assert merged["TopicConfigurations"] == [{"Id": "t"}]
    assert "EventBridgeConfiguration" in merged
    removed = trigger.merged(config, None, "pipectl-x")
    assert removed["LambdaFunctionConfigurations"] == [{"Id": "a"}]


def test_unable_to_validate_is_retried(ready, faults, fake_clock):
    ctx = ready()
    faults.add("s3.PutBucketNotificationConfiguration", "InvalidArgument", CANNOT_VALIDATE, times=2)
    converge(ctx)
    assert faults.fired.count("s3.PutBucketNotificationConfiguration") == 2
    assert fake_clock.sleeps == [1.0, 2.0]
    assert notification(ctx)["LambdaFunctionConfigurations"][0]["Id"] == "pipectl-serverless-data"


def test_unable_to_validate_for_good_says_permission_missing(ready, faults, fake_clock):
    ctx = ready()
    faults.add(
        "s3.PutBucketNotificationConfiguration", "InvalidArgument", CANNOT_VALIDATE, times=None
    )
    with pytest.raises(AwsError, match="permission for S3 is missing"):
        converge(ctx)
    assert 55 <= fake_clock.now <= 61  # gave up after about a minute of backoff


def test_other_invalid_argument_is_not_retried(ready, faults, fake_clock):
    ctx = ready()
    faults.add(
        "s3.PutBucketNotificationConfiguration",
        "InvalidArgument",
        "Configuration is ambiguously defined",
    )
    with pytest.raises(AwsError, match="overlapping prefix/suffix"):
        converge(ctx)
    assert fake_clock.sleeps == []
