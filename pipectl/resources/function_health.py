"""What a function's `State` and `LastUpdateStatus` say about whether it can run, what `up`
does about each, and the waits and the wake-up that takes. moto makes every function Active at
once; AWS does not.

Lambda documents (https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html):
- `Pending`: just created, resources still being provisioned; nothing can invoke or update it.
- `Active`: ready.
- `Inactive`: idle long enough for Lambda to reclaim its resources. Invoking it fails and sets it
  `Pending` until the resources are recreated, then `Active` again: it is woken, not broken.
- `Failed`: provisioning failed; "you must delete and recreate the function".
- `LastUpdateStatus` `InProgress`: an update is running (further updates fail with
  ResourceConflictException); `Failed`: the update was abandoned and the function keeps its
  previous code and configuration (`LastUpdateStatusReason(Code)` say why).
`StateReason` / `StateReasonCode` explain the state (e.g. `InvalidRuntime`, `EniLimitExceeded`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipectl.aws import error_code, translate
from pipectl.context import Context
from pipectl.errors import AwsError


class Condition(enum.Enum):
    """How `up` treats a function, from its State and LastUpdateStatus."""

    READY = "ready"  # Active, last update Successful
    SETTLING = "settling"  # Pending, or an update InProgress: wait for it
    INACTIVE = "inactive"  # idle, resources reclaimed: wake it
    FAILED = "failed"  # State Failed or LastUpdateStatus Failed: waiting will not help
    UNKNOWN = "unknown"  # a state pipectl does not know: refuse rather than guess


KNOWN_STATES = {"Pending", "Active", "Inactive", "Failed"}


@dataclass(frozen=True)
class Health:
    state: str
    update: str
    reason: str  # "Code: text", or ""

    @property
    def condition(self) -> Condition:
        if self.state == "Failed" or self.update == "Failed":
            return Condition.FAILED
        if self.state not in KNOWN_STATES:
            return Condition.UNKNOWN
        if self.state == "Inactive":
            return Condition.INACTIVE
        if self.state == "Pending" or self.update == "InProgress":
            return Condition.SETTLING
        return Condition.READY

    @property
    def ready(self) -> bool:
        return self.condition is Condition.READY

    def describe(self) -> str:
        """`State Failed (InvalidRuntime: ...)` or `last update Failed (...)`, for messages."""
        what = (
            f"last update {self.update}"
            if self.state == "Active" and self.update in {"Failed", "InProgress"}
            else f"State {self.state}"
        )
        return f"{what} ({self.reason})" if self.reason else what

    def advice(self, managed: bool) -> str:
        """What fixes it: the advice must fit the diagnosis (a Failed function never becomes
        Active by waiting)."""
        condition = self.condition
        if condition is Condition.SETTLING:
            return "wait a minute for Lambda to finish, or run `pipectl up`, which waits for it"
        if condition is Condition.INACTIVE:
            return "run `pipectl up`: it wakes the function (Lambda recreates its resources)"
        if condition is Condition.FAILED and managed:
            return "run `pipectl up`: it deletes and recreates the function (it is pipectl's)"
        if condition is Condition.FAILED:
            return (
                "it is not pipectl's, so pipectl will not recreate it: fix the cause above and "
                "redeploy it, or delete it (aws lambda delete-function) and run `pipectl up`"
            )
        return "check the function in the Lambda console; run `pipectl up` once it is Active"


def health_of(config: dict[str, Any]) -> Health:
    """A function's health from its configuration (GetFunction's `Configuration`). A missing
    field means the service does not report it (older emulators): Active / Successful."""
    state = str(config.get("State") or "Active")
    update = str(config.get("LastUpdateStatus") or "Successful")
    if update == "Failed" and state == "Active":
        code, text = config.get("LastUpdateStatusReasonCode"), config.get("LastUpdateStatusReason")
    else:
        code, text = config.get("StateReasonCode"), config.get("StateReason")
    reason = ": ".join(str(part) for part in (code, text) if part)
    return Health(state, update, reason)


def last_modified(config: dict[str, Any]) -> float | None:
    """LastModified, e.g. 2026-11-28T12:00:00.000+0000, as epoch seconds (None if unreadable)."""
    try:
        return datetime.strptime(config["LastModified"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except (KeyError, TypeError, ValueError):
        return None


# Waiting and waking -----------------------------------------------------------------------------

# Invoking an Inactive function fails with one of these and starts recreating its resources.
WAKING_CODES = {"ResourceConflictException", "ResourceNotReadyException"}
WAKE_PAYLOAD = b'{"Records": []}'  # if it runs after all, the handler has nothing to do


def wait_settled(ctx: Context, state: Any) -> None:
    """Pending until Active, then any update in progress until done (each waiter returns after
    one read when its state is reached)."""
    lam = ctx.client("lambda")
    wait_ready(ctx, lam, {}, "function_active_v2")
    wait_ready(ctx, lam, {}, "function_updated_v2")


def wake(ctx: Context, state: Any) -> None:
    """Invoke the Inactive function (the documented way to wake it: the call fails and Lambda
    recreates its resources), then wait until it is Active."""
    lam = ctx.client("lambda")
    try:
        lam.invoke(FunctionName=state.name, InvocationType="RequestResponse", Payload=WAKE_PAYLOAD)
    except Exception as exc:
        if error_code(exc) not in WAKING_CODES:
            raise translate(exc, f"waking function {state.name}") from None
    wait_ready(ctx, lam, {}, "function_active_v2")


def wait_ready(ctx: Context, lam: Any, response: dict[str, Any], waiter_name: str) -> None:
    """Skip the wait when the response already says Active/Successful; else poll every second."""
    if is_ready(response):
        return
    waiter = lam.get_waiter(waiter_name)
    attempts = max(1, int(ctx.deadlines.ready))
    try:
        waiter.wait(
            FunctionName=ctx.spec.function.name, WaiterConfig={"Delay": 1, "MaxAttempts": attempts}
        )
    except Exception as exc:
        last = getattr(exc, "last_response", None) or {}
        config = last.get("Configuration", last)
        reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or str(exc)
        raise AwsError(
            f"function {ctx.spec.function.name} did not become ready: {reason}",
            "see the function in the Lambda console; run `pipectl up` again once fixed",
        ) from None


def is_ready(response: dict[str, Any]) -> bool:
    return (
        bool(response)
        and response.get("State", "Active") == "Active"
        and response.get("LastUpdateStatus", "Successful") == "Successful"
    )
