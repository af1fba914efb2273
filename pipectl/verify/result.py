"""What `pipectl verify` found: one Check per link of the pipeline, and the probe's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipectl.logs import LogEvent

OnCheck = Callable[["Check"], None]
# Which failed check explains the others: a missing function also loses its permission (the
# policy lives in it), and the trigger needs bucket, function and permission. The headline names
# the first failed check in this order: the cause, not the first symptom listed.
CAUSE_ORDER = ("bucket", "function", "table", "permission", "trigger")


@dataclass(frozen=True)
class Check:
    """One link of the pipeline, as verified: `detail` says what was found, `hint` what to do."""

    name: str
    ok: bool
    detail: str
    hint: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class VerifyResult:
    key: str
    bucket: str
    checks: list[Check] = field(default_factory=list)
    item: dict[str, Any] | None = None
    log_events: list[LogEvent] = field(default_factory=list)
    item_ms: int | None = None  # from the upload to the item seen
    logs_ms: int | None = None  # from the upload to the handler's log line seen
    uploaded: bool = False
    cleanup: list[str] = field(default_factory=list)  # what was removed, or why not
    warnings: list[str] = field(default_factory=list)  # worth a look, but not a failure

    @property
    def ok(self) -> bool:
        return self.uploaded and all(c.ok for c in self.checks)

    @property
    def failed(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    @property
    def cause(self) -> Check | None:
        """The failed check to name in the headline (see CAUSE_ORDER); later steps (upload,
        item, logs, invocation) in the order they ran."""
        failed = [c for c in self.checks if not c.ok]
        rank = {name: index for index, name in enumerate(CAUSE_ORDER)}
        ordered = sorted(failed, key=lambda c: rank.get(c.name, len(rank)))
        return ordered[0] if ordered else None

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "cause": self.cause.name if self.cause else None,
            "key": self.key,
            "latency_ms": self.item_ms,
            "logs_latency_ms": self.logs_ms,
            "item": self.item,
            "logs": [e.message for e in self.log_events],
            "checks": [c.as_json() for c in self.checks],
            "warnings": list(self.warnings),
        }
