"""What S3 would refuse in the notification configuration pipectl writes, checked before writing.

AWS: PutBucketNotificationConfiguration "first verifies that any Amazon SNS or Amazon SQS
destination exists, and that the bucket owner has permission to publish to it ... In the case of
Lambda destinations, Amazon S3 verifies that the Lambda function permissions grant Amazon S3
permission to invoke the function" — for every entry of the configuration, not only pipectl's
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html).
Overlap: "Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the
same event type" (https://repost.aws/knowledge-center/lambda-s3-event-configuration-error).
moto accepts all of these; the tests build the states with moto and assert pipectl's diagnosis.
"""

from __future__ import annotations

import boto3
import pytest

from pipectl.plan import Action
from pipectl.resources import trigger
from pipectl.resources.notification_checks import Entry, overlap


def entry(events=("s3:ObjectCreated:*",), prefix="", suffix="") -> Entry:
    return Entry("x", "SQS queue", "arn", "sqs:SendMessage", tuple(events), prefix, suffix)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (entry(), entry(), "s3:ObjectCreated:*"),
        (entry(), entry(prefix="images/"), "s3:ObjectCreated:*"),  # "" is a prefix of all
        (entry(prefix="images/"), entry(prefix="logs/"), None),
        (entry(suffix=".jpg"), entry(suffix=".png"), None),
        (
            entry(prefix="images/", suffix=".jpg"),
            entry(prefix="images/thumbs/"),
            "s3:ObjectCreated:*",
        ),
        (entry(suffix=".jpg"), entry(suffix="thumb.jpg"), "s3:ObjectCreated:*"),
        (entry(prefix="a/", suffix=".jpg"), entry(prefix="b/", suffix=".jpg"), None),
        (entry(prefix="Images/"), entry(prefix="images/"), None),  # filters are case-sensitive
        (entry(), entry(events=["s3:ObjectRemoved:*"]), None),
        (entry(), entry(events=["s3:ObjectCreated:Put"]), "s3:ObjectCreated:*"),
        (
            entry(events=["s3:ObjectCreated:Copy"]),
            entry(events=["s3:ObjectCreated:Put"]),
            None,
        ),
    ],
)
def test_overlap_follows_s3s_rules(a, b, expected):
    assert overlap(a, b) == expected  # the event type of `a` both fire on
    assert (overlap(b, a) is None) == (expected is None)


def write(ctx, **sections) -> None:
    boto3.client("s3").put_bucket_notification_configuration(
        Bucket=ctx.bucket_name, NotificationConfiguration=sections
    )


def planned(ctx):
    return trigger.plan(ctx, trigger.read(ctx))


def refused(ctx):
    change = planned(ctx)
    assert change.action is Action.FAILED, change
    assert change.problem is not None
    return change.problem


def test_a_foreign_entry_for_a_deleted_function_is_named_before_writing(ready, foreign):
    ctx = ready()
    arn = foreign.function("thumbnails")
    write(
        ctx,
        LambdaFunctionConfigurations=[
            {"Id": "thumbs", "LambdaFunctionArn": arn, "Events": ["s3:ObjectRemoved:*"]}
        ],
    )
    boto3.client("lambda").delete_function(FunctionName="thumbnails")
    problem = refused(ctx)
    assert problem.message == (
        f"S3 would refuse the notification configuration of {ctx.bucket_name}: entry 'thumbs' "
        f"(s3:ObjectRemoved:* -> Lambda function {arn}): the Lambda function does not exist, "
        "and S3 validates every entry of the configuration pipectl must write"
    )
    assert (
        problem.hint
        == f"remove entry 'thumbs' from the bucket's notifications, or create {arn} again"
    )


def test_a_foreign_function_without_s3s_permission_is_named(ready, foreign):
    ctx = ready()
    arn = foreign.function("thumbnails")
    boto3.client("lambda").remove_permission(FunctionName="thumbnails", StatementId="s3")
    write(
        ctx,
        LambdaFunctionConfigurations=[
            {"Id": "thumbs", "LambdaFunctionArn": arn, "Events": ["s3:ObjectRemoved:*"]}
        ],
    )
    problem = refused(ctx)
    assert "the Lambda function's policy does not let s3.amazonaws.com lambda:InvokeFunction" in (
        problem.message
    )


def test_a_foreign_queue_without_permission_is_named(ready, foreign):
    ctx = ready()
    arn = foreign.queue("audit", allow_s3=False)
    write(
        ctx,
        QueueConfigurations=[{"Id": "audit", "QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}],
    )
    problem = refused(ctx)
    assert f"entry 'audit' (s3:ObjectRemoved:* -> SQS queue {arn})" in problem.message
    assert "does not let s3.amazonaws.com sqs:SendMessage from this bucket" in problem.message
    assert problem.hint.startswith(f"grant s3.amazonaws.com sqs:SendMessage on {arn}")


def test_a_foreign_queue_whose_policy_names_another_bucket_is_named(ready, foreign):
    ctx = ready()
    arn = foreign.queue("audit")
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="audit")["QueueUrl"]
    policy = (
        '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, '
        '"Action": "sqs:SendMessage", "Condition": {"ArnEquals": '
        '{"aws:SourceArn": "arn:aws:s3:::some-other-bucket"}}}]}'
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    write(
        ctx,
        QueueConfigurations=[{"Id": "audit", "QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}],
    )
    assert "does not let s3.amazonaws.com sqs:SendMessage" in refused(ctx).message


def test_a_foreign_topic_that_is_gone_is_named(ready, foreign):
    ctx = ready()
    arn = foreign.topic("alerts")
    write(
        ctx,
        TopicConfigurations=[{"Id": "alerts", "TopicArn": arn, "Events": ["s3:ObjectRemoved:*"]}],
    )
    boto3.client("sns").delete_topic(TopicArn=arn)
    assert f"entry 'alerts' (s3:ObjectRemoved:* -> SNS topic {arn}): the SNS topic does not" in (
        refused(ctx).message
    )


def test_healthy_foreign_destinations_pass(ready, foreign):
    ctx = ready()
    write(
        ctx,
        LambdaFunctionConfigurations=[
            {"Id": "f", "LambdaFunctionArn": foreign.function(), "Events": ["s3:ObjectRemoved:*"]}
        ],
        QueueConfigurations=[
            {"Id": "q", "QueueArn": foreign.queue(), "Events": ["s3:ObjectRestore:*"]}
        ],
    )
    change = planned(ctx)
    assert change.action is Action.CREATE and change.problem is None
    calls = ctx.aws.calls.calls
    assert {"lambda.GetPolicy", "sqs.GetQueueUrl", "sqs.GetQueueAttributes"} <= set(calls)


def test_an_overlapping_foreign_entry_is_refused_although_moto_accepts_it(
    ready, foreign, spec_with
):
    ctx = ready(spec_with(trigger={"prefix": "incoming/"}))
    arn = foreign.queue("copies")
    rules = {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}}
    write(
        ctx,
        QueueConfigurations=[
            {
                "Id": "csv-copies",
                "QueueArn": arn,
                "Events": ["s3:ObjectCreated:Put"],
                "Filter": rules,
            }
        ],
    )
    problem = refused(ctx)
    assert (
        f"entry 'csv-copies' (s3:ObjectCreated:Put, suffix '.csv' -> SQS queue {arn}) overlaps "
        "pipectl's trigger for s3:ObjectCreated:* (both match incoming/….csv)"
    ) in problem.message
    assert "set trigger.prefix / trigger.suffix so they do not overlap entry 'csv-copies'" in (
        problem.hint
    )


def test_destinations_in_another_account_are_not_looked_up(ready):
    ctx = ready()
    write(
        ctx,
        QueueConfigurations=[
            {
                "Id": "central",
                "QueueArn": "arn:aws:sqs:us-east-1:210987654321:central",
                "Events": ["s3:ObjectRemoved:*"],
            }
        ],
    )
    assert planned(ctx).problem is None
    assert not [c for c in ctx.aws.calls.calls if c.startswith("sqs.")]


def test_no_write_needed_means_no_refusal(ready, foreign):
    """pipectl's entry in place and unchanged: nothing is written, so a broken foreign entry
    cannot break anything of pipectl's."""
    ctx = ready()
    state = trigger.read(ctx)
    trigger.apply(ctx, state, trigger.plan(ctx, state))
    current = boto3.client("s3").get_bucket_notification_configuration(Bucket=ctx.bucket_name)
    gone = "arn:aws:lambda:us-east-1:123456789012:function:gone"
    write(
        ctx,
        LambdaFunctionConfigurations=[
            *current["LambdaFunctionConfigurations"],
            {"Id": "gone", "LambdaFunctionArn": gone, "Events": ["s3:ObjectRemoved:*"]},
        ],
    )
    assert planned(ctx).action is Action.UNCHANGED


def test_down_names_the_broken_entry_instead_of_writing(ready):
    ctx = ready()
    state = trigger.read(ctx)
    trigger.apply(ctx, state, trigger.plan(ctx, state))
    current = boto3.client("s3").get_bucket_notification_configuration(Bucket=ctx.bucket_name)
    gone = "arn:aws:lambda:us-east-1:123456789012:function:gone"
    write(
        ctx,
        LambdaFunctionConfigurations=[
            *current["LambdaFunctionConfigurations"],
            {"Id": "gone", "LambdaFunctionArn": gone, "Events": ["s3:ObjectRemoved:*"]},
        ],
    )
    state = trigger.read(ctx)
    before = ctx.aws.calls.mutating
    with pytest.raises(Exception, match="entry 'gone' .*: the Lambda function does not exist"):
        trigger.destroy(ctx, state, trigger.plan_destroy(ctx, state))
    assert ctx.aws.calls.mutating == before  # nothing written
