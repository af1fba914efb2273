"""Docker-free Lambda executor for the embedded emulator.

moto runs Lambda code only in Docker. pipectl replaces that one step and keeps the rest of moto's
Lambda (the API, versions, permissions, S3 notifications). Two hook points, both present in the
moto versions pinned in pyproject.toml and checked by tests/local/test_local_hook_point.py:

1. `moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, is_error, logs)`
   is where moto starts the Docker container. Every invocation goes through it (the Invoke API and
   S3 notifications both call `LambdaFunction.invoke`, which calls it); it is replaced by
   `_invoke_lambda` below, which runs the handler in a child Python process (bootstrap.py).
2. `moto.s3.notifications._invoke_awslambda(account_id, event_body, fn_arn, region_name)` is called
   by moto synchronously inside the PutObject request. S3 invokes Lambda asynchronously, so it is
   wrapped to run in a daemon thread: PutObject returns at once, as on AWS. At most
   `MAX_ASYNC_INVOCATIONS` such invocations run at a time; the rest wait their turn.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from moto.awslambda.models import LambdaFunction
from moto.logs.models import logs_backends
from moto.s3 import notifications as s3_notifications

log = logging.getLogger("pipectl.local")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
MAX_ASYNC_INVOCATIONS = max(2, os.cpu_count() or 2)
LOG_RESULT_BYTES = 4096  # Lambda returns the last 4 KB of the log with LogType=Tail
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

_originals: dict[str, Any] = {}
_endpoint_url = ""
_async_slots = threading.BoundedSemaphore(MAX_ASYNC_INVOCATIONS)
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()
_code_lock = threading.Lock()
_code_dir: Path | None = None


def install(endpoint_url: str) -> None:
    """Hook the executor into moto; the function code will reach AWS at `endpoint_url`.

    Idempotent: a second call only changes the endpoint.
    """
    global _endpoint_url
    _endpoint_url = endpoint_url
    if _originals:
        return
    _originals["_invoke_lambda"] = LambdaFunction._invoke_lambda
    _originals["_invoke_awslambda"] = s3_notifications._invoke_awslambda
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    s3_notifications._invoke_awslambda = _invoke_awslambda_async


def uninstall() -> None:
    """Give moto back its own functions (for tests)."""
    if not _originals:
        return
    LambdaFunction._invoke_lambda = _originals.pop("_invoke_lambda")  # type: ignore[method-assign]
    s3_notifications._invoke_awslambda = _originals.pop("_invoke_awslambda")


def is_installed() -> bool:
    return bool(_originals)


def kill_running() -> None:
    """Kill every function still running, so stopping the emulator leaves no process behind."""
    with _running_lock:
        for proc in list(_running):
            _kill_group(proc.pid)


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Stands in for `LambdaFunction._invoke_lambda`."""
    return invoke(self, event, _endpoint_url)


def _invoke_awslambda_async(
    account_id: str, event_body: Any, fn_arn: str, region_name: str
) -> None:
    """Stands in for `moto.s3.notifications._invoke_awslambda`: the same call, in the background.

    moto's function already swallows every error (the invocation is asynchronous on AWS too).
    """
    original = _originals["_invoke_awslambda"]

    def run() -> None:
        with _async_slots:
            original(account_id, event_body, fn_arn, region_name)

    threading.Thread(target=run, name="pipectl-s3-invoke", daemon=True).start()


@dataclass
class _Run:
    """What one child process did."""

    output: list[tuple[int, str]]  # (epoch ms, line) in the order printed
    exit_code: int | None  # None: killed at the function's timeout
    duration_ms: float
    max_memory_mb: int
    outcome: dict[str, Any] | None  # what bootstrap.py wrote: {"payload": ...} or {"error": ...}


class _Unrunnable(Exception):
    """The function cannot run here at all (not Python, not a zip, a broken zip)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def invoke(fn: LambdaFunction, event: Any, endpoint_url: str) -> tuple[str, bool, str]:
    """Run `fn` once with `event`; log to its log group; (payload JSON, is_error, log tail)."""
    request_id = str(uuid.uuid4())
    stream = _stream_name(fn.version)
    start = (_now_ms(), f"START RequestId: {request_id} Version: {fn.version}")
    try:
        run = _run_child(fn, _prepare(fn), _event_json(event), request_id, stream, endpoint_url)
    except _Unrunnable as exc:
        error = {"errorMessage": str(exc), "errorType": exc.error_type, "stackTrace": []}
        line = (_now_ms(), f"[ERROR] {exc.error_type}: {exc}")
        run = _Run([line], 1, 0.0, 0, {"error": error})
    payload, is_error, notes = _outcome(run, request_id, fn.timeout)
    end_ms = _now_ms()
    lines = [start, *run.output, *((end_ms, note) for note in notes)]
    lines += [(end_ms, f"END RequestId: {request_id}"), (end_ms, _report(request_id, fn, run))]
    _write_logs(fn, stream, lines)
    log.info(
        "invoked %s request=%s duration=%.0fms error=%s",
        fn.function_name,
        request_id,
        run.duration_ms,
        is_error,
    )
    tail = "\n".join(message for _, message in lines).encode()[-LOG_RESULT_BYTES:]
    return payload, is_error, tail.decode(errors="ignore")


def _prepare(fn: LambdaFunction) -> Path:
    """The directory holding the function's unpacked code (unpacked once per code version)."""
    if fn.package_type != "Zip":
        raise _Unrunnable("UnsupportedPackageType", "the local emulator runs only zip functions")
    if not str(fn.run_time or "").startswith("python"):
        raise _Unrunnable(
            "UnsupportedRuntime",
            f"the local emulator runs only Python functions, not runtime {fn.run_time}",
        )
    code: bytes = fn.code_bytes
    target = _code_root() / hashlib.sha256(code).hexdigest()
    with _code_lock:
        if not target.is_dir():
            try:
                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(target)
            except (zipfile.BadZipFile, OSError) as exc:
                shutil.rmtree(target, ignore_errors=True)
                raise _Unrunnable(
                    "InvalidZipFileException", f"cannot unzip the code: {exc}"
                ) from exc
    return target


def _code_root() -> Path:
    """A private temporary directory for unpacked code, removed when the emulator exits."""
    global _code_dir
    with _code_lock:
        if _code_dir is None:
            _code_dir = Path(tempfile.mkdtemp(prefix="pipectl-lambda-"))
            atexit.register(shutil.rmtree, _code_dir, True)
        return _code_dir


def _event_json(event: Any) -> str:
    """moto passes the decoded request body, or the string "{}" when the body was empty."""
    if event is None or event == "{}":
        return "{}"
    return json.dumps(event)


def _child_env(
    fn: LambdaFunction, task_dir: Path, stream: str, endpoint_url: str
) -> dict[str, str]:
    """A minimal environment like Lambda's: the function's variables, then the runtime's own
    (which Lambda reserves, so they win), pointing every AWS call back at the emulator."""
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    env.update(DUMMY_CREDENTIALS)
    env.update(
        {
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",  # lines reach the log in the order they were printed
            "PYTHONIOENCODING": "utf-8",
            "PYTHONPATH": str(task_dir),
            "LAMBDA_TASK_ROOT": str(task_dir),
            "_HANDLER": fn.handler or "",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ENDPOINT_URL": endpoint_url,
            # The user's ~/.aws files must not redirect or re-credential the function.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    return env


def _run_child(
    fn: LambdaFunction,
    task_dir: Path,
    event_json: str,
    request_id: str,
    stream: str,
    endpoint_url: str,
) -> _Run:
    """Run bootstrap.py on the event; kill it (and anything it started) at the timeout."""
    with tempfile.TemporaryDirectory(prefix="pipectl-invoke-") as scratch:
        event_file = Path(scratch, "event.json")
        event_file.write_text(event_json, encoding="utf-8")
        result_file = Path(scratch, "result.json")
        timeout_s = float(fn.timeout)
        command = [
            sys.executable, str(BOOTSTRAP),
            "--result", str(result_file),
            "--request-id", request_id,
            "--deadline-ms", str(_now_ms() + int(timeout_s * 1000)),
            "--function-arn", fn.function_arn,
        ]  # fmt: skip
        output: list[tuple[int, str]] = []
        started = time.monotonic()
        with (
            event_file.open("rb") as stdin,
            subprocess.Popen(
                command,
                cwd=task_dir,
                env=_child_env(fn, task_dir, stream, endpoint_url),
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the timeout kills all of it
            ) as proc,
            _tracked(proc),
        ):
            assert proc.stdout is not None
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, output), daemon=True)
            reader.start()
            exit_code, max_memory_mb = _wait(proc, started + timeout_s)
            duration_ms = (time.monotonic() - started) * 1000
            reader.join(timeout=1)
        outcome = json.loads(result_file.read_text("utf-8")) if result_file.exists() else None
    return _Run(output, exit_code, duration_ms, max_memory_mb, outcome)


@contextlib.contextmanager
def _tracked(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    with _running_lock:
        _running.add(proc)
    try:
        yield
    finally:
        with _running_lock:
            _running.discard(proc)


def _read_lines(stream: IO[bytes], into: list[tuple[int, str]]) -> None:
    for raw in stream:
        into.append((_now_ms(), raw.decode("utf-8", "replace").rstrip("\r\n")))


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int | None, int]:
    """Wait for the child, killing it at the deadline; (exit code, or None if it was killed at
    the deadline; max memory used in MB).

    Memory: the child's own high-water mark (VmHWM), sampled while it runs. Its ru_maxrss will
    not do on Linux: a spawned process inherits its parent's peak RSS across exec, so every
    function would appear to use as much memory as the emulator itself. Elsewhere, ru_maxrss.
    """
    delay = 0.001
    timed_out = False
    peak_kb = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, 0 if timed_out else os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            exit_code = None if timed_out else proc.returncode
            return exit_code, _to_mb(peak_kb * 1024 if peak_kb else _max_rss_bytes(usage))
        peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
        if time.monotonic() >= deadline:
            _kill_group(proc.pid)
            timed_out = True
            continue
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def _vm_hwm_kb(pid: int) -> int:
    """The process's peak resident set size in KiB from /proc (Linux), or 0."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _max_rss_bytes(usage: Any) -> int:
    """ru_maxrss is in KiB on Linux, in bytes on macOS."""
    return int(usage.ru_maxrss) * (1 if sys.platform == "darwin" else 1024)


def _to_mb(n_bytes: int) -> int:
    return math.ceil(n_bytes / (1024 * 1024))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _outcome(run: _Run, request_id: str, timeout_s: float) -> tuple[str, bool, list[str]]:
    """(payload JSON, is_error, lines the runtime itself adds to the log)."""
    if run.exit_code is None:
        message = f"Task timed out after {float(timeout_s):.2f} seconds"
        error = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: {message}",
        }
        return json.dumps(error), True, [f"{_iso_now()} {request_id} {message}"]
    if run.outcome is not None and "payload" in run.outcome:
        return run.outcome["payload"], False, []
    if run.outcome is not None:
        return json.dumps(run.outcome["error"]), True, []
    message = (
        f"RequestId: {request_id} Error: Runtime exited with error: exit status {run.exit_code}"
    )
    return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}), True, [message]


def _report(request_id: str, fn: LambdaFunction, run: _Run) -> str:
    return (
        f"REPORT RequestId: {request_id}\tDuration: {run.duration_ms:.2f} ms"
        f"\tBilled Duration: {math.ceil(run.duration_ms)} ms"
        f"\tMemory Size: {fn.memory_size} MB\tMax Memory Used: {run.max_memory_mb} MB"
    )


def _write_logs(fn: LambdaFunction, stream: str, lines: list[tuple[int, str]]) -> None:
    """One new stream per invocation in the function's own group, /aws/lambda/<name>."""
    backend = logs_backends[fn.account_id][fn.region]
    backend.ensure_log_group(fn.logs_group_name)
    backend.create_log_stream(fn.logs_group_name, stream)
    events = [{"timestamp": ts, "message": message} for ts, message in lines]
    backend.put_log_events(fn.logs_group_name, stream, events)


def _stream_name(version: Any) -> str:
    """Lambda's stream name: YYYY/MM/DD/[$LATEST]<32 hex>."""
    return f"{datetime.now(timezone.utc):%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
