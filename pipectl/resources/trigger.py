"""pipectl's entry in the bucket's notification configuration. PutBucketNotificationConfiguration
replaces the whole configuration, so pipectl reads it, upserts its own entry (by a fixed Id) and
writes every other Lambda, queue, topic and EventBridge entry back untouched. S3 validates every
entry of what is written: before writing, pipectl checks what it can (notification_checks.py) and
names the entry at fault; "Unable to validate" is retried only when the cause can be propagation
delay of pipectl's own permission."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipectl.aws import error_code, error_message
from pipectl.context import Context
from pipectl.errors import AwsError
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources import permission
from pipectl.resources.base import ResourceState
from pipectl.resources.common import perform, unless_missing
from pipectl.resources.notification_checks import (
    Destination,
    Entry,
    Problem,
    destination_problems,
    entries,
    overlap_problems,
    read_destinations,
)
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
    destinations: dict[str, Destination] = field(default_factory=dict)  # foreign entries' targets

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
        name=trigger_id,
        exists=entry is not None,
        entry=entry,
        configuration=configuration,
        destinations=read_destinations(ctx, foreign_entries(configuration, trigger_id)),
    )


def foreign_entries(configuration: dict[str, Any], trigger_id: str) -> list[Entry]:
    return [e for e in entries(configuration) if e.id != trigger_id]


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
    """A write is planned only when pipectl's entry is missing or differs; then whatever S3
    would refuse in the configuration to be written is a problem `up` refuses up front."""
    if not state.exists:
        change = change_for(KIND, state.name, ["trigger missing"], [Op.PUT], exists=False)
    else:
        drift = entry_drift(ctx, state.entry or {})
        change = change_for(KIND, state.name, drift, [Op.PUT] if drift else [], exists=True)
    if Op.PUT not in change.ops:
        return change
    foreign = foreign_entries(state.configuration, state.name)
    [ours] = entries({"LambdaFunctionConfigurations": [wanted_entry(ctx)]})
    problems = overlap_problems(ours, foreign) + destination_problems(foreign, state.destinations)
    if not problems:
        return change
    problem = refusal(ctx, problems)
    return Change(KIND, state.name, Action.FAILED, (problem.message,), problem=problem)


def refusal(ctx: Context, problems: list[Problem]) -> AwsError:
    """S3 would refuse the configuration pipectl has to write: say which entry and why."""
    return AwsError(
        f"S3 would refuse the notification configuration of {ctx.bucket_name}: "
        + "; ".join(p.message for p in problems),
        "; ".join(dict.fromkeys(p.fix for p in problems)),
        "NotificationRejected",
    )


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
    perform(ctx, state, change.ops, PERFORM)
    return change


def put_entry(ctx: Context, state: TriggerState) -> None:
    """pipectl's entry merged into the configuration read (a bucket created in this run has no
    other entries: planning's read is still current)."""
    put(ctx, merged(state.configuration, wanted_entry(ctx), state.name))


def put(ctx: Context, configuration: dict[str, Any]) -> None:
    """Write the configuration. When S3 cannot validate a destination, pipectl says which and
    why; it retries (for about a minute) only when pipectl's own permission is in place but may
    not be visible to S3 yet, the one cause that waiting fixes."""
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
            if cannot_validate(exc):
                cause = validation_cause(ctx, exc, configuration)
                if cause is not None:
                    raise cause from None
            raise

    retry(
        call,
        cannot_validate,
        ctx.deadlines.notification_validation,
        ctx.sleep,
        ctx.clock,
        on_give_up=lambda exc: AwsError(
            f"S3 still cannot validate the notification configuration of {ctx.bucket_name} after "
            f"{ctx.deadlines.notification_validation:.0f} s, although pipectl's permission "
            f"{ctx.permission_sid} is in the policy of {ctx.spec.function.name}"
            + unchecked_entries(ctx, configuration),
            "see `aws s3api put-bucket-notification-configuration --debug` for the destination "
            "S3 names; run `pipectl up` again once it is fixed",
            "NotificationValidation",
        ),
    )


def validation_cause(
    ctx: Context, exc: BaseException, configuration: dict[str, Any]
) -> AwsError | None:
    """Why S3 could not validate, when it is not propagation delay: the destinations S3 names in
    its answer (ArgumentName/ArgumentValue pairs) other than pipectl's function, else pipectl's
    permission statement missing or wrong (read now). None means: retry."""
    named = rejected_destinations(exc)
    by_target = {e.target: e for e in entries(configuration)}
    others = [(arn, why) for arn, why in named if arn != ctx.function_arn]
    if others:
        described = [
            f"{by_target[arn].describe() if arn in by_target else arn}: {why}"
            for arn, why in others
        ]
        return AwsError(
            f"S3 refused the notification configuration of {ctx.bucket_name} because of another "
            "entry: " + "; ".join(described),
            "fix or remove that entry (S3 validates every entry of the configuration)",
            "NotificationRejected",
        )
    statement = permission.read(ctx)
    drift = permission.statement_drift(ctx, statement.statement or {}) if statement.exists else []
    if statement.exists and not drift:
        return None
    what = "is missing" if not statement.exists else "is wrong (" + "; ".join(drift) + ")"
    return AwsError(
        f"S3 cannot validate the notification to {ctx.function_arn}: pipectl's permission "
        f"{ctx.permission_sid} in the function's policy {what}",
        "run `pipectl up` again: it adds the permission before the trigger",
        "NotificationValidation",
    )


def rejected_destinations(exc: BaseException) -> list[tuple[str, str]]:
    """S3 lists the destinations it could not validate as ArgumentName<n> (the ARN) and
    ArgumentValue<n> (why) beside the message; botocore keeps them in the parsed error."""
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    names = sorted(k for k in error if k.startswith("ArgumentName"))
    return [(str(error[k]), str(error.get(k.replace("Name", "Value"), ""))) for k in names]


def unchecked_entries(ctx: Context, configuration: dict[str, Any]) -> str:
    foreign = foreign_entries(configuration, ctx.notification_id)
    if not foreign:
        return ""
    return "; the other entries may be at fault: " + "; ".join(e.describe() for e in foreign)


def cannot_validate(exc: BaseException) -> bool:
    return error_code(exc) == "InvalidArgument" and CANNOT_VALIDATE in error_message(exc).lower()


def plan_destroy(ctx: Context, state: TriggerState) -> Change:
    if not state.exists:
        return Change(KIND, state.name, Action.UNCHANGED, ("does not exist",))
    return Change(KIND, state.name, Action.DELETE, ("pipectl's entry only",), (Op.REMOVE,))


def destroy(ctx: Context, state: TriggerState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def remove_entry(ctx: Context, state: TriggerState) -> None:
    """Write the latest configuration without pipectl's entry, so a foreign entry added since
    planning is kept; S3 validates the entries that stay, so their problems are named first."""
    current = read(ctx)
    if not current.exists:
        return
    foreign = foreign_entries(current.configuration, state.name)
    problems = destination_problems(foreign, current.destinations)
    if problems:
        raise refusal(ctx, problems)
    put(ctx, merged(current.configuration, None, state.name))


PERFORM = {Op.PUT: put_entry, Op.REMOVE: remove_entry}
