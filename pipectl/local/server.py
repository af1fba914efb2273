"""Lifecycle of the embedded emulator: start it detached, find it again, stop it.

The emulator is a separate process (`python -m pipectl.local.serve`) so that it outlives the
command that started it. What is running is recorded in `<home>/emulator.json`; a lock file
(`<home>/emulator.lock`, flock) keeps two commands from starting two emulators at once. A record
is believed only while its process is alive and answers HTTP on its port, so a crash or a reboot
leaves nothing to clean up by hand.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pipectl
from pipectl.errors import PipectlError, UsageError
from pipectl.home import home_dir
from pipectl.local import settings
from pipectl.retry import Backoff, poll

DEFAULT_PORT = 5050
HOST = "127.0.0.1"
RECORD_FILE = "emulator.json"
LOCK_FILE = "emulator.lock"
LOG_FILE = "emulator.log"
INTERPRETERS_FILE = "interpreters.json"  # written by the emulator (serve.py)
STOP_GRACE_S = 5.0
LOG_TAIL_LINES = 15
# Python and moto start in about a second: look often, then less so.
STARTUP = Backoff(0.02, 1.5, 0.25)

# Servers this process started, kept so that their exit is reaped (a zombie still "exists" for
# os.kill(pid, 0)) and so that Popen does not warn about a child it thinks was forgotten.
_spawned: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class EmulatorInfo:
    """A running emulator, as recorded."""

    pid: int
    port: int
    started_at: float  # epoch seconds
    log_file: str = ""

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def uptime_s(self) -> float:
        return max(0.0, time.time() - self.started_at)


def start(
    port: int | None = None, home: Path | None = None, timeout_s: float = 20
) -> tuple[EmulatorInfo, bool]:
    """Start the emulator unless one is running; (its info, True if started by this call).

    Without `port`, DEFAULT_PORT is used if free, else any free port. An explicit `port` that is
    taken is an error. A running emulator is returned as it is, whatever its port.
    """
    home = home or home_dir()
    home.mkdir(parents=True, exist_ok=True)
    with _locked(home):
        running = _current(home)
        if running is not None:
            return running, False
        _check_installed()
        settings.from_environ()  # a bad PIPECTL_LOCAL_* value: exit 2 now, not a dead emulator
        chosen = _choose_port(port)
        log_file = home / LOG_FILE
        proc = _spawn(chosen, log_file)
        _wait_until_ready(proc, chosen, log_file, timeout_s)
        info = EmulatorInfo(proc.pid, chosen, time.time(), str(log_file))
        _write_record(home, info)
        return info, True


def status(home: Path | None = None) -> EmulatorInfo | None:
    """The running emulator, or None; a record left by a dead or silent emulator is removed."""
    home = home or home_dir()
    if not home.is_dir():
        return None
    with _locked(home):
        return _current(home)


def stop(home: Path | None = None) -> EmulatorInfo | None:
    """Stop the running emulator (SIGTERM, then SIGKILL); what was stopped, or None."""
    home = home or home_dir()
    if not home.is_dir():
        return None
    with _locked(home):
        info = _current(home)
        if info is None:
            return None
        _terminate(info.pid)
        (home / RECORD_FILE).unlink(missing_ok=True)
        return info


def runtime_interpreters(home: Path | None = None) -> dict[str, dict[str, str]]:
    """Which Python each runtime has run on in the running emulator, as it recorded it:
    runtime -> {"executable", "version", "source", "warning"} ("warning" non-empty when the
    runtime's own Python was not found and the emulator's ran instead). Empty when no emulator
    runs or no function has started yet."""
    home = home or home_dir()
    if status(home) is None:
        return {}
    try:
        records = json.loads((home / INTERPRETERS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    keys = ("executable", "version", "source", "warning")
    return {
        runtime: {key: str(fields.get(key, "")) for key in keys}
        for runtime, fields in records.items()
        if isinstance(fields, dict)
    }


def ensure_running(home: Path | None = None) -> EmulatorInfo:
    """The running emulator, started on the default port first if needed (for `--local`)."""
    info, _ = start(home=home)
    return info


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Hold an exclusive lock on <home>/emulator.lock; released when the process dies, too."""
    with open(home / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _current(home: Path) -> EmulatorInfo | None:
    """The recorded emulator if it is alive and answering; a stale record is removed."""
    record = home / RECORD_FILE
    try:
        info = EmulatorInfo(**json.loads(record.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):  # unreadable: treat as stale
        info = None
    if info is not None and _alive(info.pid) and _answers(info.port):
        return info
    record.unlink(missing_ok=True)
    return None


def _write_record(home: Path, info: EmulatorInfo) -> None:
    """Write the record atomically, so a reader never sees half of it."""
    tmp = home / (RECORD_FILE + ".tmp")
    tmp.write_text(json.dumps(info.__dict__, indent=2))
    tmp.replace(home / RECORD_FILE)


def _check_installed() -> None:
    """Fail here, with the fix, rather than with an ImportError in the emulator's log.
    A UsageError, as the CLI's own check for the `local` extra raises."""
    missing = [name for name in ("moto", "flask") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"the local emulator needs {' and '.join(missing)}, which are not installed",
            "pip install 'pipectl[local]'",
        )


def _choose_port(port: int | None) -> int:
    if port is not None:
        if not _port_free(port):
            raise PipectlError(
                f"port {port} on {HOST} is already in use",
                "choose another port, or leave it out to have one picked",
            )
        return port
    if _port_free(DEFAULT_PORT):
        return DEFAULT_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    """Whether the server could bind `port` (SO_REUSEADDR as werkzeug sets it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True


def _spawn(port: int, log_file: Path) -> subprocess.Popen[bytes]:
    """Start the server detached: its own session, no terminal, output to the log file."""
    env = dict(os.environ)
    # The child must import this same pipectl, installed or not (a checkout, say).
    package_root = str(Path(pipectl.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipectl.local.serve"]
            + ["--port", str(port), "--host", HOST, "--home", str(log_file.parent)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_file.parent,
            env=env,
            start_new_session=True,
        )
    _spawned[proc.pid] = proc
    return proc


def _wait_until_ready(
    proc: subprocess.Popen[bytes], port: int, log_file: Path, timeout_s: float
) -> None:
    """Wait until the server answers on its port; an error naming the log if it exits first
    or stays silent past `timeout_s`."""
    ready = poll(lambda: proc.poll() is not None or _answers(port), timeout_s, backoff=STARTUP)
    if ready and proc.poll() is not None:
        raise PipectlError(
            f"the local emulator exited during startup (exit code {proc.returncode})",
            f"its log, {log_file}, ends with:\n{_log_tail(log_file)}",
        )
    if ready:
        return
    _terminate(proc.pid)
    raise PipectlError(
        f"the local emulator did not answer on port {port} within {timeout_s:g} s",
        f"its log, {log_file}, ends with:\n{_log_tail(log_file)}",
    )


def _answers(port: int, timeout_s: float = 2.0) -> bool:
    """Whether an HTTP server answers on the port (http.client: no proxy settings apply)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        conn.request("GET", "/moto-api/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _alive(pid: int) -> bool:
    proc = _spawned.get(pid)
    if proc is not None:
        return proc.poll() is None  # reaps our own child once it has exited
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _terminate(pid: int) -> None:
    """SIGTERM, wait up to STOP_GRACE_S, then SIGKILL; returns once the process is gone."""
    for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if poll(lambda: not _alive(pid), wait_s, backoff=STARTUP):
            _spawned.pop(pid, None)
            return
    raise PipectlError(f"the local emulator (pid {pid}) did not stop", f"kill it: kill -9 {pid}")


def _log_tail(log_file: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"
