"""pipectl's embedded AWS emulator: moto's server plus a Docker-free Lambda executor.

The lifecycle API (server.py) needs only the standard library; moto is imported by the emulator
process itself (serve.py, executor.py), so `pipectl` works without the `local` extra installed.
"""

from pipectl.local.server import (
    DEFAULT_PORT,
    EmulatorInfo,
    ensure_running,
    home_dir,
    runtime_interpreters,
    start,
    status,
    stop,
)

__all__ = [
    "DEFAULT_PORT",
    "EmulatorInfo",
    "ensure_running",
    "home_dir",
    "runtime_interpreters",
    "start",
    "status",
    "stop",
]
