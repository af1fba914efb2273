"""The on-failure queue: made encrypted with 14 days' retention, both converged; its message counts;
kept by `down` while it holds messages, like a table that holds items."""

from __future__ import annotations

import boto3

from pipectl.plan import Action
from pipectl.resources import queue

NAME = "serverless-data-processor-failures"


def created(ctx) -> queue.QueueState:
    state = queue.read(ctx)
    queue.apply(ctx, state, queue.plan(ctx, state))
    return queue.read(ctx)


def send(url: str, count: int) -> None:
    sqs = boto3.client("sqs")
    for n in range(count):
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"n": {n}}}')


def test_created_encrypted_with_14_days_retention_and_tagged(make_ctx):
    ctx, _ = make_ctx()
    assert queue.plan(ctx, queue.read(ctx)).ops == (queue.Op.CREATE,)
    state = created(ctx)
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=state.url, AttributeNames=["All"]
    )
    assert attributes["Attributes"]["MessageRetentionPeriod"] == "1209600"
    assert attributes["Attributes"]["SqsManagedSseEnabled"] == "true"
    tags = boto3.client("sqs").list_queue_tags(QueueUrl=state.url)["Tags"]
    assert tags == {"managed-by": "pipectl", "pipectl-pipeline": "serverless-data"}
    assert queue.plan(ctx, state).action is Action.UNCHANGED
    assert state.failed_events == 0


def test_retention_and_encryption_changed_elsewhere_show_and_converge(make_ctx):
    ctx, _ = make_ctx()
    url = created(ctx).url
    boto3.client("sqs").set_queue_attributes(
        QueueUrl=url,
        Attributes={"MessageRetentionPeriod": "345600", "SqsManagedSseEnabled": "false"},
    )
    change = queue.plan(ctx, queue.read(ctx))
    assert change.action is Action.UPDATE and change.ops == (queue.Op.ATTRIBUTES,)
    assert change.reasons == (
        "retention 4 days, want 14 days",
        "not encrypted, want SSE-SQS",
    )
    assert change.calls == ("sqs.SetQueueAttributes",)
    queue.apply(ctx, queue.read(ctx), change)
    assert queue.plan(ctx, queue.read(ctx)).action is Action.UNCHANGED


def test_a_kms_key_of_the_users_own_is_kept(make_ctx):
    ctx, _ = make_ctx()
    url = created(ctx).url
    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"SqsManagedSseEnabled": "false", "KmsMasterKeyId": "alias/their-key"},
    )
    assert queue.plan(ctx, queue.read(ctx)).action is Action.UNCHANGED


def test_message_counts_and_the_helper_for_other_commands(make_ctx):
    ctx, _ = make_ctx()
    assert queue.failed_events(boto3.client("sqs"), NAME) is None  # no queue yet
    url = created(ctx).url
    send(url, 3)
    boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    assert queue.failed_events(boto3.client("sqs"), NAME) == 2
    state = queue.read(ctx)
    assert state.counts == queue.MessageCounts(waiting=2, in_flight=1, delayed=0)
    assert state.holds_messages is None  # read for teardown only


def test_down_keeps_a_queue_that_holds_messages_unless_delete_data(make_ctx):
    ctx, _ = make_ctx()
    url = created(ctx).url
    boto3.client("sqs").receive_message(QueueUrl=url)  # nothing yet: empty
    ctx.teardown = True
    assert queue.plan_destroy(ctx, queue.read(ctx)).action is Action.DELETE
    send(url, 1)
    boto3.client("sqs").receive_message(QueueUrl=url, VisibilityTimeout=60)  # in flight counts
    state = queue.read(ctx)
    assert state.holds_messages is True
    change = queue.plan_destroy(ctx, state)
    assert change.action is Action.KEEP and change.ops == ()
    assert change.detail == "holds 1 message(s): replay them, or pass --delete-data to delete it"
    ctx.delete_data = True
    change = queue.plan_destroy(ctx, state)
    assert (
        change.action is Action.DELETE and change.detail == "with its 1 message(s) (--delete-data)"
    )
    queue.destroy(ctx, state, change)
    assert not queue.read(ctx).exists


def test_not_configured_is_left_alone_and_an_untagged_queue_is_kept(make_ctx, spec_with):
    ctx, _ = make_ctx(spec_with(function={"on_failure_queue": False}))
    assert queue.plan(ctx, queue.read(ctx)).reasons == ("not configured",)
    boto3.client("sqs").create_queue(QueueName=NAME)  # someone else's, same name
    ctx.teardown = True
    change = queue.plan_destroy(ctx, queue.read(ctx))
    assert change.action is Action.KEEP and change.detail == "not created by pipectl"
