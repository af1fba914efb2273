"""What this pipeline created, remembered in `$PIPECTL_HOME` beside the tags.

Tags are pipectl's proof of ownership, but they can be lost: a delete that fails half-way may
strip a resource's tags and then error (the service removes tags first), after which the next
`down` would see an untagged resource and keep it as someone else's. The ledger keeps ownership
across that: `up` records each resource it creates (and refreshes the record when it changes one
it recorded), `down` forgets what it deleted, and any run forgets what it found missing.

Never deleting what pipectl did not create: a record counts only while the resource is not newer
than the record. Where the read tells when a resource was created or last changed (`changed_at`:
a table's or role's creation date, a log group's creation time, a function's LastModified), a
look-alike made after pipectl's record (someone deleted pipectl's and made their own with the same
name) is not pipectl's.

One JSON file per account, region and pipeline: `<home>/created/<account>-<region>-<pipeline>.json`
holding `{kind: {"name": ..., "at": epoch seconds}}`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

CLOCK_SLACK_S = 300.0  # the service's clock and this machine's may differ


class Ledger:
    def __init__(self, path: Path, now: Callable[[], float] = time.time) -> None:
        self.path = path
        self.now = now
        self._lock = threading.Lock()
        self._entries = self._load()

    @classmethod
    def for_pipeline(cls, home: Path, account: str, region: str, pipeline: str) -> Ledger:
        return cls(home / "created" / f"{account}-{region}-{pipeline}.json")

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # no record yet (or an unreadable one): ownership falls back to tags
        return data if isinstance(data, dict) else {}

    def owns(self, kind: str, name: str, changed_at: float | None = None) -> bool:
        """pipectl recorded creating `kind` `name`, and the resource is not newer than that."""
        entry = self._entries.get(kind)
        if not entry or entry.get("name") != name:
            return False
        recorded_at = float(entry.get("at", 0) or 0)
        return changed_at is None or changed_at <= recorded_at + CLOCK_SLACK_S

    def names(self) -> dict[str, str]:
        return {kind: str(entry.get("name")) for kind, entry in self._entries.items()}

    def record(self, kind: str, name: str) -> None:
        with self._lock:
            self._entries[kind] = {"name": name, "at": self.now()}

    def forget(self, kind: str, name: str) -> None:
        with self._lock:
            if self._entries.get(kind, {}).get("name") == name:
                del self._entries[kind]

    def save(self) -> None:
        """Write atomically (a crash leaves the old file or the new one, never half of one).
        Raises OSError when the home folder cannot be written."""
        with self._lock:
            if not self._entries and not self.path.exists():
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self._entries, indent=2), encoding="utf-8")
            os.replace(temporary, self.path)
