"""What `pipectl verify` found: one Check per link of the pipeline, and the probe's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipectl.logs import LogEvent

OnCheck = Callable[["Check"], None]


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

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "key": self.key,
            "latency_ms": self.item_ms,
            "logs_latency_ms": self.logs_ms,
            "item": self.item,
            "logs": [e.message for e in self.log_events],
            "checks": [c.as_json() for c in self.checks],
            "warnings": list(self.warnings),
        }
