"""Verify's preflight, from the observed states: bucket, pipectl's notification entry, the
permission that lets S3 invoke the function, the function Active, the table. All are checked and
reported; if any fails nothing is uploaded (a probe could only time out, telling less)."""

from __future__ import annotations

from typing import Any

from pipectl.context import Context
from pipectl.resources import table as table_resource
from pipectl.resources.function_health import health_of
from pipectl.resources.permission import statement_drift
from pipectl.resources.trigger import entry_drift, filter_rules
from pipectl.verify.result import Check

PUT_EVENTS = {"s3:ObjectCreated:*", "s3:ObjectCreated:Put"}


def preflight(ctx: Context, observed: Any) -> list[Check]:
    return [
        check_bucket(ctx, observed["bucket"]),
        check_trigger(ctx, observed["trigger"]),
        check_permission(ctx, observed["permission"]),
        check_function(ctx, observed["function"]),
        check_table(ctx, observed["table"]),
    ]


def warnings(ctx: Context, observed: Any) -> list[str]:
    """What deserves attention without failing verify: failed events waiting in the on-failure
    queue, or a configured queue that is missing (then a failure would be dropped)."""
    if not ctx.spec.function.on_failure_queue:
        return []
    state = observed["queue"]
    if not state.exists:
        return [
            f"on-failure queue {state.name} is missing: an event that still fails after "
            "Lambda's retries would be dropped; run `pipectl up`"
        ]
    if state.failed_events:
        return [
            f"{state.failed_events} failed event(s) wait in {state.name}: list them with "
            "`pipectl replay --dry-run`, process them again with `pipectl replay`"
        ]
    return []


def check_bucket(ctx: Context, state: Any) -> Check:
    if not state.exists:
        return Check(
            "bucket", False, f"bucket {ctx.bucket_name} does not exist", "run `pipectl up`"
        )
    return Check("bucket", True, f"{ctx.bucket_name} exists")


def check_trigger(ctx: Context, state: Any) -> Check:
    up = "run `pipectl up` to restore pipectl's notification entry"
    if not state.bucket_exists:
        return Check("trigger", False, "no bucket, so no notification", "run `pipectl up`")
    if not state.exists:
        others = len(state.configuration.get("LambdaFunctionConfigurations", []))
        extra = f" ({others} other Lambda entr{'y' if others == 1 else 'ies'})" if others else ""
        return Check(
            "trigger",
            False,
            f"no notification: bucket {ctx.bucket_name} has no entry {state.name}{extra}, "
            "so uploads never invoke the function",
            up,
        )
    drift = entry_drift(ctx, state.entry or {})
    if drift:
        return Check("trigger", False, f"notification {state.name} differs: {'; '.join(drift)}", up)
    events = list((state.entry or {}).get("Events", []))
    if not PUT_EVENTS.intersection(events):
        return Check(
            "trigger",
            False,
            f"the configured events ({', '.join(events)}) do not include s3:ObjectCreated:Put, "
            "which the probe upload sends",
            "add s3:ObjectCreated:* to trigger.events and run `pipectl up`",
        )
    rules = filter_rules(state.entry or {})
    filters = "".join(f", {name} {value!r}" for name, value in sorted(rules.items()))
    return Check("trigger", True, f"{', '.join(events)}{filters} -> {ctx.spec.function.name}")


def check_permission(ctx: Context, state: Any) -> Check:
    if not state.exists:
        return Check(
            "permission",
            False,
            f"permission missing: the policy of {ctx.spec.function.name} has no statement "
            f"{state.name} letting s3.amazonaws.com invoke it",
            "run `pipectl up` to add it",
        )
    drift = statement_drift(ctx, state.statement or {})
    if drift:
        return Check(
            "permission",
            False,
            f"statement {state.name} does not let this bucket invoke the function: "
            + "; ".join(drift),
            "run `pipectl up` to correct it",
        )
    return Check(
        "permission", True, f"S3 may invoke it from {ctx.bucket_name} (account {ctx.account_id})"
    )


def check_function(ctx: Context, state: Any) -> Check:
    name = ctx.spec.function.name
    if not state.exists:
        return Check("function", False, f"function {name} does not exist", "run `pipectl up`")
    health = health_of(state.config)
    if not health.ready:
        return Check(
            "function",
            False,
            f"function {name} cannot run: {health.describe()}",
            health.advice(state.managed(ctx.spec.pipeline)),
        )
    return Check("function", True, f"{name} is Active ({state.config.get('Runtime', '?')})")


def check_table(ctx: Context, state: Any) -> Check:
    if not state.exists:
        return Check("table", False, f"table {state.name} does not exist", "run `pipectl up`")
    problem = table_resource.key_schema_problem(ctx, state)
    if problem:
        hint = "set table.name to a table keyed by partition_key"
        return Check("table", False, problem.message, hint)
    if state.status not in {"ACTIVE", "UPDATING"}:
        return Check("table", False, f"table {state.name} is {state.status}", "wait and retry")
    key = ctx.spec.table.partition_key
    return Check("table", True, f"{state.name} is {state.status}, keyed by {key}")
