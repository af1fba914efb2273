"""The on-failure queue (function.on_failure_queue, on by default): the events the function still
failed on after Lambda's retries land here as Lambda's invocation records instead of being
dropped, and wait for `pipectl replay`.

It is encrypted (SSE-SQS, `SqsManagedSseEnabled`: no KMS key whose policy or cost could stop
Lambda from delivering a record) and keeps messages 14 days, the longest SQS allows, so there is
time to fix the handler. Both converge. A queue encrypted with a KMS key of your own counts as
encrypted and is left so. `down` keeps a queue that holds messages, like a table that holds items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipectl.context import Context
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import delete_quietly, perform, teardown_verdict, unless_missing

KIND = "queue"
MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
RETENTION_S = 14 * 24 * 3600  # 1209600, SQS's maximum MessageRetentionPeriod
WANTED_ATTRIBUTES = {"MessageRetentionPeriod": str(RETENTION_S), "SqsManagedSseEnabled": "true"}
# Reading a queue takes two calls one after the other: GetQueueAttributes needs the URL that
# GetQueueUrl answers. The URL is not built from the account and name instead: the SQS
# Developer Guide ("Amazon SQS queue and message identifiers") says to use the URL as SQS
# returns it, since its parts may change (aws/aws-sdk-php#1145), and an AWS-compatible endpoint
# has URLs of its own. So `pipeline.observe` makes this client first and starts this read
# first: its second round trip then overlaps the making of the other reads' clients.
CHAINED_READ_CLIENT = "sqs"
ATTRIBUTES = (
    "QueueArn",
    "MessageRetentionPeriod",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",  # epoch seconds: a look-alike made after pipectl's record is not its own
)


class Op(BaseOp):
    CREATE = "create", "sqs.CreateQueue"
    ATTRIBUTES = "attributes", "sqs.SetQueueAttributes"
    DELETE = "delete", "sqs.DeleteQueue"


@dataclass(frozen=True)
class MessageCounts:
    """SQS's approximate message counts (on AWS they lag by up to a minute)."""

    waiting: int  # ApproximateNumberOfMessages: failed events ready to be replayed
    in_flight: int  # ApproximateNumberOfMessagesNotVisible: received, not yet deleted
    delayed: int  # ApproximateNumberOfMessagesDelayed

    @classmethod
    def of(cls, attributes: dict[str, str]) -> MessageCounts:
        def count(name: str) -> int:
            return int(attributes.get(name) or 0)

        return cls(
            count("ApproximateNumberOfMessages"),
            count("ApproximateNumberOfMessagesNotVisible"),
            count("ApproximateNumberOfMessagesDelayed"),
        )

    @property
    def total(self) -> int:
        return self.waiting + self.in_flight + self.delayed


@dataclass(frozen=True, kw_only=True)
class QueueState(ResourceState):
    url: str = ""
    attributes: dict[str, str] | None = None
    holds_messages: bool | None = None  # read only for teardown

    @property
    def counts(self) -> MessageCounts | None:
        return MessageCounts.of(self.attributes) if self.attributes is not None else None

    @property
    def failed_events(self) -> int | None:
        """Failed events waiting to be replayed; None when there is no queue."""
        return self.counts.waiting if self.counts is not None else None


def queue_url(ctx: Context) -> str | None:
    """The on-failure queue's URL, or None when it does not exist."""
    return find_url(ctx.client("sqs"), ctx.spec.queue_name)


def find_url(sqs: Any, name: str) -> str | None:
    response = unless_missing(
        lambda: sqs.get_queue_url(QueueName=name), MISSING, None, f"reading queue {name}"
    )
    return response["QueueUrl"] if response else None


def read_attributes(sqs: Any, url: str) -> dict[str, str]:
    """One GetQueueAttributes: settings and message counts (see MessageCounts.of)."""
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(ATTRIBUTES))["Attributes"]


def failed_events(sqs: Any, name: str) -> int | None:
    """How many failed events wait in the queue `name` (None: there is no such queue). The one
    read of the count, for status, verify, stats and replay alike."""
    url = find_url(sqs, name)
    attributes = unless_missing(lambda: read_attributes(sqs, url), MISSING, None) if url else None
    return MessageCounts.of(attributes).waiting if attributes is not None else None


def read(ctx: Context) -> QueueState:
    name = ctx.spec.queue_name
    url = queue_url(ctx)
    if url is None:
        return QueueState(name=name, exists=False)
    sqs = ctx.client("sqs")
    attributes = unless_missing(lambda: read_attributes(sqs, url), MISSING, None)
    if attributes is None:  # deleted between the two reads
        return QueueState(name=name, exists=False)
    tags = None
    if ctx.with_tags or ctx.teardown:
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
    holds = MessageCounts.of(attributes).total > 0 if ctx.teardown else None
    return QueueState(
        name=name,
        exists=True,
        url=url,
        tags=tags,
        attributes=attributes,
        holds_messages=holds,
        changed_at=epoch_seconds(attributes.get("CreatedTimestamp")),
    )


def epoch_seconds(text: str | None) -> float | None:
    """SQS's timestamps are epoch seconds as text (AWS: whole seconds; moto: with a fraction)."""
    try:
        return float(text) if text else None
    except ValueError:
        return None


def attribute_drift(attributes: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{attribute to set: (drift line, value)} for each setting that differs."""
    drift = {}
    retention = attributes.get("MessageRetentionPeriod", "")
    if retention != str(RETENTION_S):
        line = f"retention {duration(retention)}, want {duration(str(RETENTION_S))}"
        drift["MessageRetentionPeriod"] = (line, str(RETENTION_S))
    encrypted = attributes.get("SqsManagedSseEnabled") == "true" or attributes.get("KmsMasterKeyId")
    if not encrypted:
        drift["SqsManagedSseEnabled"] = ("not encrypted, want SSE-SQS", "true")
    return drift


def duration(seconds: str) -> str:
    """SQS's seconds as people say them: `4 days`, `90 s`."""
    if not seconds.isdigit():
        return seconds or "unknown"
    days, rest = divmod(int(seconds), 86400)
    return f"{days} day{'' if days == 1 else 's'}" if days and not rest else f"{seconds} s"


def plan(ctx: Context, state: QueueState) -> Change:
    if not ctx.spec.function.on_failure_queue:
        return Change(KIND, state.name, Action.UNCHANGED, ("not configured",))
    if not state.exists:
        return change_for(KIND, state.name, ["missing"], [Op.CREATE], exists=False)
    drift = attribute_drift(state.attributes or {})
    reasons = [line for line, _ in drift.values()]
    return change_for(KIND, state.name, reasons, [Op.ATTRIBUTES] if drift else [], exists=True)


def create(ctx: Context, state: QueueState) -> None:
    ctx.client("sqs").create_queue(
        QueueName=state.name, Attributes=dict(WANTED_ATTRIBUTES), tags=dict(ctx.spec.tags)
    )


def set_attributes(ctx: Context, state: QueueState) -> None:
    """Only what differs: a KMS key of the user's own stays."""
    drift = attribute_drift(state.attributes or {})
    ctx.client("sqs").set_queue_attributes(
        QueueUrl=state.url, Attributes={name: value for name, (_, value) in drift.items()}
    )


def delete(ctx: Context, state: QueueState) -> None:
    delete_quietly(lambda: ctx.client("sqs").delete_queue(QueueUrl=state.url), MISSING)


PERFORM = {Op.CREATE: create, Op.ATTRIBUTES: set_attributes, Op.DELETE: delete}


def apply(ctx: Context, state: QueueState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def plan_destroy(ctx: Context, state: QueueState) -> Change:
    verdict = teardown_verdict(KIND, state, ctx.spec.pipeline)
    if verdict:
        return verdict
    if not state.holds_messages:
        return Change(KIND, state.name, Action.DELETE, ("holds no messages",), (Op.DELETE,))
    count = state.counts.total if state.counts else 0
    if not ctx.delete_data:
        return Change(
            KIND,
            state.name,
            Action.KEEP,
            (f"holds {count} message(s): replay them, or pass --delete-data to delete it",),
        )
    reason = f"with its {count} message(s) (--delete-data)"
    return Change(KIND, state.name, Action.DELETE, (reason,), (Op.DELETE,))


def destroy(ctx: Context, state: QueueState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change
