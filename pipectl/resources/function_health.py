"""What a function's `State` and `LastUpdateStatus` say about whether it can run, and what `up`
does about each. moto makes every function Active at once; AWS does not.

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
from typing import Any


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
