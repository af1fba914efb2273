"""What the function's settings should be, and how they differ: its configuration (runtime,
handler, role, memory, timeout, environment), its architecture (sent with the code: the
configuration update has no such field) and its asynchronous invoke configuration (retries,
event age, the on-failure destination), with the writer of the latter."""

from __future__ import annotations

from typing import Any

from pipectl.aws import error_code
from pipectl.context import Context
from pipectl.retry import retry

HANDLER = "app.lambda_handler"


def wanted_config(ctx: Context) -> dict[str, Any]:
    f = ctx.spec.function
    return {
        "Runtime": f.runtime,
        "Handler": HANDLER,
        "Role": ctx.role_arn,
        "MemorySize": f.memory_mb,
        "Timeout": f.timeout_s,
        "Environment": {"Variables": environment(ctx)},
    }


def wanted_architectures(ctx: Context) -> list[str]:
    """Sent on create and with the code: UpdateFunctionConfiguration has no Architectures field
    (docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html has)."""
    return [ctx.spec.function.architecture]


def architecture_drift(ctx: Context, config: dict[str, Any]) -> list[str]:
    have, want = config.get("Architectures") or ["x86_64"], wanted_architectures(ctx)
    return [] if have == want else [f"architecture {have[0]}, want {want[0]}"]


def environment(ctx: Context) -> dict[str, str]:
    return {"TABLE_NAME": ctx.spec.table.name, "PARTITION_KEY": ctx.spec.table.partition_key}


def wanted_invoke_config(ctx: Context) -> dict[str, Any]:
    """The on-failure queue is an on-failure destination only, never also the function's
    DeadLetterConfig: Lambda uses both at once ("You can configure destinations in addition to or
    instead of a dead-letter queue", PutFunctionEventInvokeConfig API reference; "Destinations and
    DLQs can be used together and at the same time", AWS Compute Blog, "Introducing AWS Lambda
    Destinations"), and a DLQ gets only the bare event ("For dead-letter queues, Lambda only sends
    the content of the event, without details about the response", Lambda developer guide,
    invocation-async-retain-records). Both on one queue would put every failure in it twice, in
    two formats."""
    f = ctx.spec.function
    on_failure = {"Destination": ctx.queue_arn} if f.on_failure_queue else {}
    return {
        "MaximumRetryAttempts": f.max_retry_attempts,
        "MaximumEventAgeInSeconds": f.max_event_age_s,
        "DestinationConfig": {"OnSuccess": {}, "OnFailure": on_failure},
    }


def config_drift(ctx: Context, config: dict[str, Any]) -> list[str]:
    """Human lines like `memory 256, want 128`, one per configuration field that differs."""
    wanted = wanted_config(ctx)
    labels = {
        "Runtime": "runtime",
        "Handler": "handler",
        "Role": "role",
        "MemorySize": "memory",
        "Timeout": "timeout",
    }
    drift = [
        f"{label} {config.get(key)}, want {wanted[key]}"
        for key, label in labels.items()
        if config.get(key) != wanted[key]
    ]
    have_env = config.get("Environment", {}).get("Variables", {})
    if have_env != wanted["Environment"]["Variables"]:
        drift.append(f"environment {have_env}, want {wanted['Environment']['Variables']}")
    return drift


def invoke_config_drift(ctx: Context, current: dict[str, Any] | None) -> list[str]:
    if current is None:
        return ["async invoke config missing"]
    wanted = wanted_invoke_config(ctx)
    drift = []
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if current.get(key) != wanted[key]:
            drift.append(f"{key} {current.get(key)}, want {wanted[key]}")
    have_dest = (current.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
    want_dest = wanted["DestinationConfig"]["OnFailure"].get("Destination")
    if have_dest != want_dest:
        drift.append(f"on-failure destination {have_dest or 'none'}, want {want_dest or 'none'}")
    return drift


def write_invoke_config(ctx: Context, replace_existing: bool) -> None:
    """Retries and event age for S3's async invocations; the on-failure queue may need the new
    role's permission to propagate first, which AWS reports as InvalidParameterValueException.

    An existing config is deleted first: AWS's Put replaces it anyway, but moto 5.2 (and so the
    embedded emulator) appends and keeps answering with the first one, so a change never shows."""
    lam = ctx.client("lambda")
    if replace_existing:
        lam.delete_function_event_invoke_config(FunctionName=ctx.spec.function.name)
    call = lambda: lam.put_function_event_invoke_config(  # noqa: E731
        FunctionName=ctx.spec.function.name, **wanted_invoke_config(ctx)
    )
    retry(
        call,
        lambda exc: (
            error_code(exc) in {"InvalidParameterValueException", "ResourceConflictException"}
            and ctx.spec.function.on_failure_queue
        ),
        ctx.deadlines.role_propagation,
        ctx.sleep,
        ctx.clock,
    )
