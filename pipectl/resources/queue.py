"""The optional on-failure queue (function.on_failure_queue): events the function failed on after
Lambda's retries land here instead of being dropped."""

from __future__ import annotations

from dataclasses import dataclass

from pipectl.aws import error_code, translate
from pipectl.plan import Action, Change, Context, change_for
from pipectl.resources.common import delete_quietly, teardown_verdict

KIND = "queue"
MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


@dataclass(frozen=True)
class QueueState:
    name: str
    exists: bool
    url: str = ""
    tags: dict[str, str] | None = None


def read(ctx: Context, with_tags: bool = False) -> QueueState:
    name = ctx.spec.queue_name
    sqs = ctx.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except Exception as exc:
        if error_code(exc) in MISSING:
            return QueueState(name, exists=False)
        raise translate(exc, f"reading queue {name}") from None
    tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) if with_tags else None
    return QueueState(name, True, url, tags)


def plan(ctx: Context, state: QueueState) -> Change:
    if not ctx.spec.function.on_failure_queue:
        return Change(KIND, state.name, Action.UNCHANGED, ("not configured",))
    if state.exists:
        return change_for(KIND, state.name, [], [], exists=True)
    return change_for(KIND, state.name, ["missing"], ["create"], exists=False)


def apply(ctx: Context, state: QueueState, change: Change) -> Change:
    if "create" in change.ops:
        ctx.client("sqs").create_queue(QueueName=state.name, tags=dict(ctx.spec.tags))
    return change


def plan_destroy(ctx: Context, state: QueueState, delete_data: bool) -> Change:
    verdict = teardown_verdict(KIND, state.name, state.exists, state.tags, ctx.spec.pipeline)
    return verdict or Change(KIND, state.name, Action.DELETE, (), ("delete",))


def destroy(ctx: Context, state: QueueState, change: Change) -> Change:
    if "delete" in change.ops:
        delete_quietly(lambda: ctx.client("sqs").delete_queue(QueueUrl=state.url), MISSING)
    return change
