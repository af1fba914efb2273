"""Where pipectl keeps what it writes on this machine: the emulator's record, lock and log, the
ledger of what each pipeline created, built dependencies. Standard library only: every command
asks, and most start no emulator."""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    """$PIPECTL_HOME, else ~/.pipectl."""
    return Path(os.environ.get("PIPECTL_HOME") or Path.home() / ".pipectl")
