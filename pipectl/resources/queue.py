"""The optional on-failure queue (function.on_failure_queue): events the function failed on after
Lambda's retries land here instead of being dropped."""

from __future__ import annotations

from dataclasses import dataclass

from pipectl.context import Context
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import delete_quietly, perform, teardown_verdict, unless_missing

KIND = "queue"
MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


class Op(BaseOp):
    CREATE = "create", "sqs.CreateQueue"
    DELETE = "delete", "sqs.DeleteQueue"


@dataclass(frozen=True, kw_only=True)
class QueueState(ResourceState):
    url: str = ""


def read(ctx: Context) -> QueueState:
    name = ctx.spec.queue_name
    sqs = ctx.client("sqs")
    response = unless_missing(
        lambda: sqs.get_queue_url(QueueName=name), MISSING, None, f"reading queue {name}"
    )
    if response is None:
        return QueueState(name=name, exists=False)
    url = response["QueueUrl"]
    tags = None
    if ctx.with_tags or ctx.teardown:
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
    return QueueState(name=name, exists=True, url=url, tags=tags)


def plan(ctx: Context, state: QueueState) -> Change:
    if not ctx.spec.function.on_failure_queue:
        return Change(KIND, state.name, Action.UNCHANGED, ("not configured",))
    if state.exists:
        return change_for(KIND, state.name, [], [], exists=True)
    return change_for(KIND, state.name, ["missing"], [Op.CREATE], exists=False)


def create(ctx: Context, state: QueueState) -> None:
    ctx.client("sqs").create_queue(QueueName=state.name, tags=dict(ctx.spec.tags))


def delete(ctx: Context, state: QueueState) -> None:
    delete_quietly(lambda: ctx.client("sqs").delete_queue(QueueUrl=state.url), MISSING)


PERFORM = {Op.CREATE: create, Op.DELETE: delete}


def apply(ctx: Context, state: QueueState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def plan_destroy(ctx: Context, state: QueueState) -> Change:
    verdict = teardown_verdict(KIND, state, ctx.spec.pipeline)
    return verdict or Change(KIND, state.name, Action.DELETE, (), (Op.DELETE,))


def destroy(ctx: Context, state: QueueState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change
