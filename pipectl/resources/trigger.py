"""pipectl's entry in the bucket's notification configuration. PutBucketNotificationConfiguration
replaces the whole configuration, so pipectl reads it, upserts its own entry (by a fixed Id) and
writes every other Lambda, queue, topic and EventBridge entry back untouched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipectl.aws import error_code, error_message
from pipectl.context import Context
from pipectl.errors import AwsError
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import unless_missing
from pipectl.retry import retry

KIND = "trigger"


class Op(BaseOp):
    PUT = "put", "s3.PutBucketNotificationConfiguration"
    REMOVE = (
        "remove",
        "s3.GetBucketNotificationConfiguration",
        "s3.PutBucketNotificationConfiguration",
    )


SECTIONS = (
    "LambdaFunctionConfigurations",
    "QueueConfigurations",
    "TopicConfigurations",
    "EventBridgeConfiguration",
)
CANNOT_VALIDATE = "unable to validate the following destination configurations"
AMBIGUOUS = "ambiguously defined"


@dataclass(frozen=True, kw_only=True)
class TriggerState(ResourceState):
    """pipectl's entry in the bucket's notification configuration; `name` is its Id."""

    entry: dict[str, Any] | None = None
    configuration: dict[str, Any] = field(default_factory=dict)
    bucket_exists: bool = True

    def managed(self, pipeline: str) -> bool:
        return self.exists  # found by pipectl's own Id

    @property
    def id(self) -> str:
        return self.name


def read(ctx: Context) -> TriggerState:
    trigger_id = ctx.notification_id
    response = unless_missing(
        lambda: ctx.client("s3").get_bucket_notification_configuration(Bucket=ctx.bucket_name),
        {"NoSuchBucket"},
        None,
        f"reading the notifications of {ctx.bucket_name}",
    )
    if response is None:
        return TriggerState(name=trigger_id, exists=False, bucket_exists=False)
    configuration = {k: v for k, v in response.items() if k in SECTIONS}
    entry = next(
        (
            e
            for e in configuration.get("LambdaFunctionConfigurations", [])
            if e.get("Id") == trigger_id
        ),
        None,
    )
    return TriggerState(
        name=trigger_id, exists=entry is not None, entry=entry, configuration=configuration
    )


def wanted_entry(ctx: Context) -> dict[str, Any]:
    trigger = ctx.spec.trigger
    entry: dict[str, Any] = {
        "Id": ctx.notification_id,
        "LambdaFunctionArn": ctx.function_arn,
        "Events": list(trigger.events),
    }
    rules = [
        {"Name": name, "Value": value}
        for name, value in (("prefix", trigger.prefix), ("suffix", trigger.suffix))
        if value
    ]
    if rules:
        entry["Filter"] = {"Key": {"FilterRules": rules}}
    return entry


def filter_rules(entry: dict[str, Any]) -> dict[str, str]:
    rules = entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {r["Name"].lower(): r["Value"] for r in rules if r.get("Value")}


def entry_drift(ctx: Context, entry: dict[str, Any]) -> list[str]:
    wanted = wanted_entry(ctx)
    drift = []
    if entry.get("LambdaFunctionArn") != wanted["LambdaFunctionArn"]:
        drift.append(f"target {entry.get('LambdaFunctionArn')}, want {wanted['LambdaFunctionArn']}")
    if sorted(entry.get("Events", [])) != sorted(wanted["Events"]):
        drift.append(
            f"events {', '.join(entry.get('Events', []))}, want {', '.join(wanted['Events'])}"
        )
    have, want = filter_rules(entry), filter_rules(wanted)
    for name in ("prefix", "suffix"):
        if have.get(name, "") != want.get(name, ""):
            drift.append(f"{name} {have.get(name, '')!r}, want {want.get(name, '')!r}")
    return drift


def plan(ctx: Context, state: TriggerState) -> Change:
    if not state.exists:
        return change_for(KIND, state.name, ["trigger missing"], [Op.PUT], exists=False)
    drift = entry_drift(ctx, state.entry or {})
    return change_for(KIND, state.name, drift, [Op.PUT] if drift else [], exists=True)


def merged(
    configuration: dict[str, Any], entry: dict[str, Any] | None, entry_id: str
) -> dict[str, Any]:
    """The whole configuration with pipectl's entry replaced (or removed when `entry` is None)."""
    result = {k: v for k, v in configuration.items() if k in SECTIONS}
    functions = [
        e for e in result.get("LambdaFunctionConfigurations", []) if e.get("Id") != entry_id
    ]
    if entry is not None:
        functions.append(entry)
    if functions:
        result["LambdaFunctionConfigurations"] = functions
    else:
        result.pop("LambdaFunctionConfigurations", None)
    return result


def apply(ctx: Context, state: TriggerState, change: Change) -> Change:
    if Op.PUT in change.ops:
        # A bucket created in this run has no other entries: planning's read is still current.
        put(ctx, merged(state.configuration, wanted_entry(ctx), state.name))
    return change


def put(ctx: Context, configuration: dict[str, Any]) -> None:
    """Write the configuration. S3 checks the function's resource policy; a permission added
    seconds ago may not be visible yet, so that one error is retried for about a minute."""
    s3 = ctx.client("s3")

    def call() -> None:
        try:
            s3.put_bucket_notification_configuration(
                Bucket=ctx.bucket_name, NotificationConfiguration=configuration
            )
        except Exception as exc:
            if AMBIGUOUS in error_message(exc).lower():
                raise AwsError(
                    f"bucket {ctx.bucket_name} already has a notification for the same events "
                    "with an overlapping prefix/suffix",
                    "set trigger.prefix / trigger.suffix so they do not overlap the other entry, "
                    "or remove that entry",
                    "AmbiguousNotification",
                ) from None
            raise

    retry(
        call,
        cannot_validate,
        ctx.deadlines.notification_validation,
        ctx.sleep,
        ctx.clock,
        on_give_up=lambda exc: AwsError(
            f"S3 cannot validate the notification to {ctx.function_arn}: the function's "
            "permission for S3 is missing or not yet visible",
            "run `pipectl up` again; if it persists check `aws lambda get-policy`",
            "NotificationValidation",
        ),
    )


def cannot_validate(exc: BaseException) -> bool:
    return error_code(exc) == "InvalidArgument" and CANNOT_VALIDATE in error_message(exc).lower()


def plan_destroy(ctx: Context, state: TriggerState) -> Change:
    if not state.exists:
        return Change(KIND, state.name, Action.UNCHANGED, ("does not exist",))
    return Change(KIND, state.name, Action.DELETE, ("pipectl's entry only",), (Op.REMOVE,))


def destroy(ctx: Context, state: TriggerState, change: Change) -> Change:
    if Op.REMOVE in change.ops:
        current = read(ctx)  # the latest configuration, so a foreign entry added since is kept
        if current.exists:
            put(ctx, merged(current.configuration, None, state.name))
    return change
