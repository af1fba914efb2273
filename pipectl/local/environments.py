"""One warm execution environment: a bootstrap.py child process and the three pipes to it.

The child is started once (the INIT phase: Python starts, the handler's module is imported) and
then serves one invocation at a time until it is discarded. Two threads per environment read
what it writes: its stdout+stderr, line by line, as the function's log; and its results pipe.
A phase (INIT or one INVOKE) is over when its result has arrived and the phase's marker line has
come through stdout (so every line printed before the result is in), when the process is gone, or
at the deadline, when the whole process group is killed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipectl.retry import Backoff, poll

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# Waits end as soon as a reader thread signals; the backoff only bounds how often a wait looks
# at whether the process is still there (a forked child can keep its pipes open after it died).
WAKE_UP = Backoff(0.05, 2.0, 0.5)
GRACE_S = 1.0  # for the last lines and the exit status once a phase is decided
REAP_TIMEOUT_S = 5.0


@dataclass
class Phase:
    """What one INIT or INVOKE phase did."""

    lines: list[tuple[int, str]]  # (epoch ms, line) as printed
    duration_ms: float
    result: dict[str, Any] | None = None  # the header bootstrap.py answered with
    body: bytes = b""
    timed_out: bool = False
    exit_code: int | None = None  # set when the process ended during the phase


@dataclass
class _Inbox:
    """What the reader threads have collected, guarded by the environment's lock."""

    lines: list[tuple[int, str]] = field(default_factory=list)
    results: deque[tuple[dict[str, Any], bytes]] = field(default_factory=deque)
    marker: bytes = b""
    marker_seen: bool = False
    results_closed: bool = False


class Environment:
    """A started child process serving one function's invocations, one at a time."""

    def __init__(
        self, command: list[str], cwd: Path, env: dict[str, str], stream: str, key: Any
    ) -> None:
        self.stream = stream  # its log stream in the function's log group
        self.key = key  # what it was made for: the pool reuses it only for the same key
        self.last_used = time.monotonic()
        self._command, self._cwd, self._env = command, cwd, env
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._inbox = _Inbox()
        self._proc: subprocess.Popen[bytes] | None = None
        self._requests: IO[bytes] | None = None
        self._peak_mb = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float) -> Phase:
        """Start the process and run its INIT phase. OSError if it cannot be started."""
        requests_read, requests_write = os.pipe()
        results_read, results_write = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [*self._command, str(BOOTSTRAP)]
                + ["--requests", str(requests_read), "--results", str(results_write)],
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(requests_read, results_write),
                start_new_session=True,  # its own process group: a kill takes all of it
            )
        except OSError:
            for fd in (requests_read, requests_write, results_read):
                os.close(fd)
            raise
        finally:
            os.close(results_write)
        os.close(requests_read)
        self._requests = os.fdopen(requests_write, "wb")
        assert self._proc.stdout is not None
        output = threading.Thread(target=self._read_output, args=(self._proc.stdout,), daemon=True)
        results = threading.Thread(target=self._read_results, args=(results_read,), daemon=True)
        output.start()
        results.start()
        return self._exchange({"type": "init"}, b"", timeout_s)

    def invoke(self, request: dict[str, Any], event: bytes, timeout_s: float) -> Phase:
        """One INVOKE phase: `request` carries request_id, deadline_ms and function_arn."""
        self.last_used = time.monotonic()
        phase = self._exchange({**request, "type": "invoke", "body": len(event)}, event, timeout_s)
        self.last_used = time.monotonic()
        return phase

    def max_memory_mb(self) -> int:
        """The process's peak resident memory so far (VmHWM, Linux), in MB; 0 if unknown.
        Like Lambda's Max Memory Used, it is the environment's peak, not the invocation's."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{self._proc.pid}/status", encoding="ascii") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            kb = int(line.split()[1])
                            self._peak_mb = max(self._peak_mb, math.ceil(kb / 1024))
        return self._peak_mb

    def kill(self) -> None:
        """Kill the whole process group and reap the process; idempotent."""
        if self._proc is None:
            return
        self.max_memory_mb()  # the last look at its memory
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            if self._requests is not None:
                self._requests.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(REAP_TIMEOUT_S)

    def _exchange(self, header: dict[str, Any], body: bytes, timeout_s: float) -> Phase:
        marker = f"pipectl-phase-end-{uuid.uuid4().hex}"
        with self._lock:
            self._inbox.marker, self._inbox.marker_seen = marker.encode(), False
        started = time.monotonic()
        with contextlib.suppress(OSError):  # a dead child: found out below
            assert self._requests is not None
            self._requests.write(json.dumps({**header, "marker": marker}).encode() + b"\n" + body)
            self._requests.flush()
        decided = self._wait_for(self._phase_over, timeout_s)
        duration_ms = (time.monotonic() - started) * 1000
        if not decided:
            self.kill()
            return Phase(self._take_lines(), duration_ms, timed_out=True)
        if self._exited():  # read its pipes to the end before deciding what happened
            self._wait_for(lambda: self._inbox.results_closed, GRACE_S)
        result, result_body = self._next_result()
        exit_code = None
        if result is not None:
            self._wait_for(lambda: self._inbox.marker_seen, GRACE_S)
        else:  # it died: make sure nothing it started lives on
            self.kill()
            exit_code = self._proc.returncode if self._proc else None
        return Phase(self._take_lines(), duration_ms, result, result_body, exit_code=exit_code)

    def _wait_for(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until `condition()` holds (True) or `timeout_s` passes (False), woken by the
        reader threads rather than by polling fast."""

        def check() -> bool:
            self._wakeup.clear()  # before looking: a signal from now on ends the next sleep
            return condition()

        return bool(poll(check, timeout_s, sleep=self._wakeup.wait, backoff=WAKE_UP))

    def _phase_over(self) -> bool:
        with self._lock:
            inbox = self._inbox
            if (inbox.results and inbox.marker_seen) or inbox.results_closed:
                return True
        return self._exited()

    def _exited(self) -> bool:
        return self._proc is not None and self._proc.poll() is not None

    def _next_result(self) -> tuple[dict[str, Any] | None, bytes]:
        with self._lock:
            return self._inbox.results.popleft() if self._inbox.results else (None, b"")

    def _take_lines(self) -> list[tuple[int, str]]:
        with self._lock:
            lines, self._inbox.lines = self._inbox.lines, []
        return lines

    def _read_output(self, stream: IO[bytes]) -> None:
        for raw in stream:
            now = int(time.time() * 1000)
            with self._lock:
                marker = self._inbox.marker
                at = raw.find(marker) if marker else -1
                if at < 0:
                    self._inbox.lines.append((now, _text(raw)))
                    continue
                if raw[:at]:  # the function's last line had no newline
                    self._inbox.lines.append((now, _text(raw[:at])))
                self._inbox.marker_seen = True
            self._wakeup.set()
        stream.close()

    def _read_results(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as results:
            while True:
                line = results.readline()
                try:
                    header = json.loads(line) if line else None
                except ValueError:  # not bootstrap.py's: treat the channel as broken
                    header = None
                if header is None:
                    break
                body = results.read(int(header.get("body", 0) or 0))
                with self._lock:
                    self._inbox.results.append((header, body))
                self._wakeup.set()
        with self._lock:
            self._inbox.results_closed = True
        self._wakeup.set()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r\n")
