"""The Lambda function: code uploaded only when CodeSha256 differs, configuration updated only when
a field differs, readiness awaited with 1 s polls, IAM propagation retried, plus its async invoke
configuration (retries, event age, on-failure destination). Its State decides first
(function_health.py): a Pending function is waited for, an Inactive one woken, a Failed one
recreated when it is pipectl's and refused when it is not. What each setting should be lives
in function_settings.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pipectl.aws import error_code, error_message
from pipectl.build.packaging import Package
from pipectl.context import Context
from pipectl.errors import AwsError
from pipectl.plan import Action, Change, change_for
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.common import (
    delete_quietly,
    parallel_reads,
    perform,
    teardown_verdict,
    unless_missing,
)
from pipectl.resources.function_health import (
    Condition,
    Health,
    health_of,
    last_modified,
    wait_ready,
    wait_settled,
    wake,
)
from pipectl.resources.function_settings import (
    architecture_drift,
    config_drift,
    invoke_config_drift,
    wanted_architectures,
    wanted_config,
    write_invoke_config,
)
from pipectl.retry import retry

KIND = "function"
ROLE_NOT_READY = "cannot be assumed by lambda"


class Op(BaseOp):
    CREATE = "create", "lambda.CreateFunction"
    # A package over what a request holds goes through the pipeline's bucket (code_source).
    CREATE_VIA_BUCKET = (
        "create_via_bucket",
        "s3.PutObject",
        "lambda.CreateFunction",
        "s3.DeleteObject",
    )
    CONFIGURATION = "configuration", "lambda.UpdateFunctionConfiguration"
    CODE = "code", "lambda.UpdateFunctionCode"
    CODE_VIA_BUCKET = (
        "code_via_bucket",
        "s3.PutObject",
        "lambda.UpdateFunctionCode",
        "s3.DeleteObject",
    )
    INVOKE_CONFIG = "invoke_config", "lambda.PutFunctionEventInvokeConfig"
    # AWS's Put replaces a config, moto's appends: delete it first (see put_invoke_config).
    REPLACE_INVOKE_CONFIG = (
        "replace_invoke_config",
        "lambda.DeleteFunctionEventInvokeConfig",
        "lambda.PutFunctionEventInvokeConfig",
    )
    DELETE = "delete", "lambda.DeleteFunction"
    WAIT = "wait", "lambda.GetFunction"  # Pending or an update in progress: until it settles
    WAKE = "wake", "lambda.Invoke", "lambda.GetFunction"  # Inactive: invoke, then until Active


# The permission and the trigger need the function to exist, with its code and configuration
# settled (Lambda refuses some calls while an update is in progress); the async invoke config is
# put while they proceed.
LATE_OPS = (Op.INVOKE_CONFIG, Op.REPLACE_INVOKE_CONFIG)


@dataclass(frozen=True, kw_only=True)
class FunctionState(ResourceState):
    config: dict[str, Any] = field(default_factory=dict)
    invoke_config: dict[str, Any] | None = None


def read(ctx: Context) -> FunctionState:
    """GetFunction returns configuration, code hash and tags in one call."""
    name = ctx.spec.function.name
    lam = ctx.client("lambda")
    missing = {"ResourceNotFoundException"}
    values = parallel_reads(
        {
            "function": lambda: unless_missing(
                lambda: lam.get_function(FunctionName=name), missing, None, f"reading {name}"
            ),
            "invoke": lambda: unless_missing(
                lambda: lam.get_function_event_invoke_config(FunctionName=name),
                missing,
                None,
                f"reading the invoke config of {name}",
            ),
        }
    )
    response = values["function"]
    if response is None:
        return FunctionState(name=name, exists=False)
    return FunctionState(
        name=name,
        exists=True,
        config=response["Configuration"],
        tags=response.get("Tags", {}),
        invoke_config=values["invoke"],
        changed_at=last_modified(response["Configuration"]),
    )


def package_of(ctx: Context) -> Package:
    assert ctx.package is not None, "up and status build the package before planning"
    return ctx.package


def plan(ctx: Context, state: FunctionState) -> Change:
    direct = package_of(ctx).fits_direct_upload
    if not state.exists:
        create = Op.CREATE if direct else Op.CREATE_VIA_BUCKET
        return change_for(KIND, state.name, ["missing"], [create, Op.INVOKE_CONFIG], False)
    health = health_of(state.config)
    if health.condition in {Condition.FAILED, Condition.UNKNOWN}:
        return plan_unhealthy(ctx, state, health)
    reasons: list[str] = []
    ops: list[Op] = []
    if health.condition is Condition.SETTLING:
        reasons.append(f"{health.describe()}: `up` waits until it is ready")
        ops.append(Op.WAIT)
    elif health.condition is Condition.INACTIVE:
        reasons.append(f"{health.describe()}: `up` wakes it")
        ops.append(Op.WAKE)
    drift = config_drift(ctx, state.config)
    if drift:
        reasons.extend(drift)
        ops.append(Op.CONFIGURATION)
    code = Op.CODE if direct else Op.CODE_VIA_BUCKET
    if state.config.get("CodeSha256") != package_of(ctx).sha256:
        reasons.append("code differs from handler/")
        ops.append(code)
    architecture = architecture_drift(ctx, state.config)
    if architecture:
        reasons.extend(architecture)
        if code not in ops:
            ops.append(code)
    invoke_drift = invoke_config_drift(ctx, state.invoke_config)
    if invoke_drift:
        reasons.extend(invoke_drift)
        ops.append(Op.REPLACE_INVOKE_CONFIG if state.invoke_config else Op.INVOKE_CONFIG)
    return change_for(KIND, state.name, reasons, ops, exists=True)


def plan_unhealthy(ctx: Context, state: FunctionState, health: Health) -> Change:
    """A Failed function never recovers by waiting; Lambda says to delete and recreate it. pipectl
    does that only to its own function (which also loses its resource policy: the permission is
    part of it, see registry.py); an adopted one, or a state pipectl does not know, is refused."""
    managed = state.managed(ctx.spec.pipeline)
    if health.condition is Condition.FAILED and managed:
        reason = f"{health.describe()}: `up` deletes and recreates it (Failed never recovers)"
        create = Op.CREATE if package_of(ctx).fits_direct_upload else Op.CREATE_VIA_BUCKET
        ops = (Op.DELETE, create, Op.INVOKE_CONFIG)
        return Change(KIND, state.name, Action.UPDATE, (reason,), ops, replaces=True)
    problem = AwsError(
        f"function {state.name} is unusable: {health.describe()}",
        health.advice(managed),
        "FunctionUnusable",
    )
    return Change(KIND, state.name, Action.FAILED, (problem.message,), problem=problem)


def apply(ctx: Context, state: FunctionState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change


def update_configuration(ctx: Context, state: FunctionState) -> None:
    lam = ctx.client("lambda")
    update(
        ctx,
        lam,
        lambda: lam.update_function_configuration(FunctionName=state.name, **wanted_config(ctx)),
    )


def update_code(ctx: Context, state: FunctionState) -> None:
    lam = ctx.client("lambda")
    with code_source(ctx) as code:
        update(
            ctx,
            lam,
            lambda: lam.update_function_code(
                FunctionName=state.name, **code, Architectures=wanted_architectures(ctx)
            ),
        )


@contextmanager
def code_source(ctx: Context) -> Iterator[dict[str, Any]]:
    """Where Lambda takes the code from: the request itself, or, for a package over the ~50 MB a
    request holds, a pipectl-owned key in the pipeline's bucket (same region, as Lambda
    requires), deleted once Lambda has the code or the call failed. Deleting that very version
    leaves a versioned bucket no delete marker."""
    package = package_of(ctx)
    if package.fits_direct_upload:
        yield {"ZipFile": package.zip_bytes}
        return
    s3, bucket, key = ctx.client("s3"), ctx.bucket_name, package.bucket_key(ctx.spec.function.name)
    version = s3.put_object(Bucket=bucket, Key=key, Body=package.zip_bytes).get("VersionId")
    this_version = {"VersionId": version} if version and version != "null" else {}
    source = {"S3Bucket": bucket, "S3Key": key}
    if this_version:
        source["S3ObjectVersion"] = this_version["VersionId"]
    try:
        yield source
    finally:
        delete_quietly(
            lambda: s3.delete_object(Bucket=bucket, Key=key, **this_version),
            {"NoSuchKey", "NoSuchBucket"},
        )


def create(ctx: Context, state: FunctionState) -> None:
    with code_source(ctx) as code:
        create_from(ctx, code)


def create_from(ctx: Context, code: dict[str, Any]) -> None:
    """CreateFunction, retried while IAM has not yet propagated a new role to Lambda."""
    role, lam = ctx.role_arn, ctx.client("lambda")

    def call() -> dict[str, Any]:
        try:
            return lam.create_function(
                FunctionName=ctx.spec.function.name,
                Code=code,
                Tags=dict(ctx.spec.tags),
                Publish=False,
                Architectures=wanted_architectures(ctx),
                **wanted_config(ctx),
            )
        except Exception as exc:
            if error_code(exc) == "ResourceConflictException":  # made meanwhile (a parallel run)
                return lam.get_function_configuration(FunctionName=ctx.spec.function.name)
            raise

    response = retry(
        call,
        role_not_ready,
        ctx.deadlines.role_propagation,
        ctx.sleep,
        ctx.clock,
        on_give_up=lambda exc: AwsError(
            f"Lambda still cannot assume role {role} after {ctx.deadlines.role_propagation:.0f} s",
            "check that the role exists and trusts lambda.amazonaws.com, for a role pipectl made"
            " with aws:SourceAccount = this account (aws iam get-role)",
            "RoleNotAssumable",
        ),
    )
    wait_ready(ctx, lam, response, "function_active_v2")


def role_not_ready(exc: BaseException) -> bool:
    return (
        error_code(exc) == "InvalidParameterValueException"
        and ROLE_NOT_READY in error_message(exc).lower()
    )


def update(ctx: Context, lam: Any, call: Any) -> None:
    """An update while a previous one is in progress fails with ResourceConflictException: wait
    for the function to settle and try again."""

    def conflict(exc: BaseException) -> bool:
        if error_code(exc) != "ResourceConflictException":
            return False
        wait_ready(ctx, lam, {}, "function_updated_v2")
        return True

    response = retry(call, conflict, ctx.deadlines.ready, ctx.sleep, ctx.clock)
    wait_ready(ctx, lam, response, "function_updated_v2")


def put_invoke_config(ctx: Context, state: FunctionState) -> None:
    write_invoke_config(ctx, replace_existing=False)


def replace_invoke_config(ctx: Context, state: FunctionState) -> None:
    write_invoke_config(ctx, replace_existing=True)


def delete(ctx: Context, state: FunctionState) -> None:
    delete_quietly(
        lambda: ctx.client("lambda").delete_function(FunctionName=state.name),
        {"ResourceNotFoundException"},
    )


PERFORM = {
    Op.CREATE: create,
    Op.CREATE_VIA_BUCKET: create,
    Op.CONFIGURATION: update_configuration,
    Op.CODE: update_code,
    Op.CODE_VIA_BUCKET: update_code,
    Op.INVOKE_CONFIG: put_invoke_config,
    Op.REPLACE_INVOKE_CONFIG: replace_invoke_config,
    Op.DELETE: delete,
    Op.WAIT: wait_settled,
    Op.WAKE: wake,
}


def plan_destroy(ctx: Context, state: FunctionState) -> Change:
    verdict = teardown_verdict(KIND, state, ctx.spec.pipeline)
    return verdict or Change(KIND, state.name, Action.DELETE, (), (Op.DELETE,))


def destroy(ctx: Context, state: FunctionState, change: Change) -> Change:
    perform(ctx, state, change.ops, PERFORM)
    return change
