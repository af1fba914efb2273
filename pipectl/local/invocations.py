"""One invocation of a function: lease a warm environment (or start one), run the event, write
the invocation's log framed as Lambda frames it, and say what happened.

An environment is reused while the function's code and configuration stay the same (code
SHA-256, handler, runtime, environment variables, memory, timeout). A timeout or a crash discards
it, so the next invocation is a cold start; an exception raised by the handler does not (the
runtime catches it, as Lambda's does).
"""

from __future__ import annotations

import atexit
import base64
import io
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipectl.local import interpreters, lambda_logs
from pipectl.local.environments import Environment, Phase
from pipectl.local.pool import Lease, Pools
from pipectl.local.settings import Settings

log = logging.getLogger("pipectl.local")

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the INIT phase of an on-demand function
LOG_RESULT_BYTES = 4096  # Lambda returns the last 4 KB of the log with LogType=Tail
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class Outcome:
    """What one invocation returned."""

    request_id: str
    payload: bytes  # the function's result, or Lambda's error document, as JSON
    error_type: str = ""  # empty on success
    tail: str = ""  # the end of the invocation's log

    @property
    def is_error(self) -> bool:
        return bool(self.error_type)


class Unrunnable(Exception):
    """The function cannot run here at all (not Python, not a zip, a broken zip)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def function_id(fn: Any) -> tuple[str, str, str, str]:
    return (fn.account_id, fn.region, fn.function_name, str(fn.version))


def fingerprint(fn: Any) -> tuple[Any, ...]:
    """What makes a warm environment stale when it changes: the code, the configuration, and
    the function itself (moto updates a function in place; a deleted and re-created one is a
    new object, whose environments are new on AWS too)."""
    variables = tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items()))
    return (
        id(fn),
        fn.code_sha_256,
        fn.handler,
        fn.run_time,
        variables,
        fn.memory_size,
        fn.timeout,
    )


class Runner:
    """Runs invocations for the whole emulator; owns the environments and the unpacked code."""

    def __init__(self, endpoint_url: str, settings: Settings) -> None:
        self.endpoint_url = endpoint_url
        self.settings = settings
        self.pools = Pools(settings.idle_s)
        self._code_lock = threading.Lock()
        self._code_root: Path | None = None

    def cap(self, fn: Any) -> int:
        """Concurrent environments allowed: reserved concurrency if set, else the default."""
        reserved = getattr(fn, "reserved_concurrency", None)
        return self.settings.concurrency if reserved is None else int(reserved)

    def run(self, fn: Any, event: bytes, request_id: str, wait: bool = True) -> Outcome:
        """Run `event` through `fn`. With `wait` False, pool.Throttled when no environment
        is free (reserved concurrency); else wait for one."""
        try:
            task_dir = self._prepare(fn)
        except Unrunnable as exc:
            return self._unrunnable(fn, request_id, exc)
        lease = self._lease(fn, wait)
        reuse, lines = False, []
        try:
            init_ms, failure = None, None
            if lease.cold:
                init_ms, failure = self._cold_start(fn, lease, task_dir, request_id, lines)
            env = lease.env
            assert isinstance(env, Environment)
            lines.append((_now_ms(), lambda_logs.start(request_id, fn.version)))
            duration_ms, body = 0.0, b""
            if failure is None:
                phase = env.invoke(self._request(fn, request_id), event, float(fn.timeout))
                lines += phase.lines
                failure, reuse = _failure(phase, request_id, fn.timeout, lines)
                duration_ms, body = phase.duration_ms, phase.body
            memory_mb = env.max_memory_mb()
            report = lambda_logs.report(request_id, duration_ms, fn.memory_size, memory_mb, init_ms)
            lines += [(_now_ms(), lambda_logs.end(request_id)), (_now_ms(), report)]
            lambda_logs.write(fn, env.stream, lines)
        finally:
            self.pools.release(lease, reuse)
        payload = body if failure is None else json.dumps(failure).encode()
        error_type = str(failure.get("errorType", "Unhandled")) if failure else ""
        log.info("invoked %s request=%s error=%s", fn.function_name, request_id, error_type or "-")
        return Outcome(request_id, payload, error_type, _tail(lines))

    def _lease(self, fn: Any, wait: bool) -> Lease:
        """A lease on one of the function's environments; a warm one that died while idle
        (killed from outside) is replaced by a cold start rather than failing the invocation."""
        lease = self.pools.acquire(function_id(fn), fingerprint(fn), self.cap(fn), wait)
        if isinstance(lease.env, Environment) and not lease.env.alive:
            lease.env.kill()
            lease.env, lease.cold = None, True
        return lease

    def close(self) -> None:
        """Kill every environment (the emulator is stopping)."""
        self.pools.close()

    def _cold_start(
        self,
        fn: Any,
        lease: Lease,
        task_dir: Path,
        request_id: str,
        lines: list[tuple[int, str]],
    ) -> tuple[float, dict[str, Any] | None]:
        """Start an environment for the lease and run its INIT phase; (init ms, the error
        payload if INIT failed)."""
        interpreter = interpreters.for_runtime(fn.run_time)
        stream = lambda_logs.stream_name(fn.version)
        env = Environment(
            [interpreter.executable, "-S"],  # no site-packages: only the runtime layer's boto3
            task_dir,
            self._child_env(fn, task_dir, stream, interpreter),
            stream,
            fingerprint(fn),
        )
        self.pools.attach(lease, env)
        described = interpreter.describe()
        lines.append((_now_ms(), lambda_logs.init_start(fn.run_time, fn.region, described)))
        if interpreter.warning:
            lines.append((_now_ms(), interpreter.warning))
        started = time.monotonic()
        try:
            phase = env.start(INIT_TIMEOUT_S)
        except OSError as exc:
            message = f"cannot start {interpreter.executable}: {exc}"
            lines.append((_now_ms(), f"[ERROR] Runtime.InvalidEntrypoint: {message}"))
            return 0.0, {"errorType": "Runtime.InvalidEntrypoint", "errorMessage": message}
        init_ms = (time.monotonic() - started) * 1000
        lines += phase.lines
        if phase.result is not None and phase.result.get("type") == "ready":
            return init_ms, None
        if phase.result is not None and "error" in phase.result:
            return init_ms, phase.result["error"]
        if phase.timed_out:
            return init_ms, _timeout_error(request_id, "INIT phase", INIT_TIMEOUT_S)
        return init_ms, _exit_error(request_id, phase.exit_code, lines)

    def _request(self, fn: Any, request_id: str) -> dict[str, Any]:
        deadline_ms = _now_ms() + int(float(fn.timeout) * 1000)
        return {
            "request_id": request_id,
            "deadline_ms": deadline_ms,
            "function_arn": fn.function_arn,
        }

    def _child_env(
        self, fn: Any, task_dir: Path, stream: str, interpreter: interpreters.Interpreter
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
                "PYTHONPATH": os.pathsep.join([str(task_dir), str(interpreters.runtime_layer())]),
                "LAMBDA_TASK_ROOT": str(task_dir),
                "_HANDLER": fn.handler or "",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_REGION": fn.region,
                "AWS_DEFAULT_REGION": fn.region,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                # The user's ~/.aws files must not redirect or re-credential the function.
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        if not interpreter.is_own:  # its bytecode for boto3 & co. goes to a private cache
            env["PYTHONPYCACHEPREFIX"] = str(self._code_dir() / "pycache")
        return env

    def _prepare(self, fn: Any) -> Path:
        """The directory holding the function's unpacked code (unpacked once per code hash)."""
        if fn.package_type != "Zip":
            raise Unrunnable("UnsupportedPackageType", "the local emulator runs only zip functions")
        if not str(fn.run_time or "").startswith("python"):
            raise Unrunnable(
                "UnsupportedRuntime",
                f"the local emulator runs only Python functions, not runtime {fn.run_time}",
            )
        digest = base64.b64decode(fn.code_sha_256 or "").hex() or "empty"
        target = self._code_dir() / digest
        with self._code_lock:
            if not target.is_dir():
                try:
                    with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as archive:
                        archive.extractall(target)
                except (zipfile.BadZipFile, OSError) as exc:
                    shutil.rmtree(target, ignore_errors=True)
                    raise Unrunnable(
                        "InvalidZipFileException", f"cannot unzip the code: {exc}"
                    ) from exc
        return target

    def _code_dir(self) -> Path:
        """A private temporary directory for unpacked code, removed when the emulator exits."""
        with self._code_lock:
            if self._code_root is None:
                self._code_root = Path(tempfile.mkdtemp(prefix="pipectl-lambda-"))
                atexit.register(shutil.rmtree, self._code_root, True)
            return self._code_root

    def _unrunnable(self, fn: Any, request_id: str, exc: Unrunnable) -> Outcome:
        error = {"errorMessage": str(exc), "errorType": exc.error_type, "stackTrace": []}
        lines = [
            (_now_ms(), lambda_logs.start(request_id, fn.version)),
            (_now_ms(), f"[ERROR] {exc.error_type}: {exc}"),
            (_now_ms(), lambda_logs.end(request_id)),
            (_now_ms(), lambda_logs.report(request_id, 0.0, fn.memory_size, 0)),
        ]
        lambda_logs.write(fn, lambda_logs.stream_name(fn.version), lines)
        return Outcome(request_id, json.dumps(error).encode(), exc.error_type, _tail(lines))


def _failure(
    phase: Phase, request_id: str, timeout_s: Any, lines: list[tuple[int, str]]
) -> tuple[dict[str, Any] | None, bool]:
    """(the error payload, or None on success; whether the environment may be reused)."""
    if phase.timed_out:
        lines.append((_now_ms(), lambda_logs.timed_out(request_id, timeout_s)))
        return _timeout_error(request_id, "Task", timeout_s), False
    if phase.result is None:
        return _exit_error(request_id, phase.exit_code, lines), False
    return phase.result.get("error"), True


def _timeout_error(request_id: str, what: str, timeout_s: Any) -> dict[str, Any]:
    after = f"{float(timeout_s):.2f} seconds"
    message = f"RequestId: {request_id} Error: {what} timed out after {after}"
    return {"errorType": "Sandbox.Timedout", "errorMessage": message}


def _exit_error(
    request_id: str, exit_code: int | None, lines: list[tuple[int, str]]
) -> dict[str, Any]:
    message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {exit_code}"
    lines.append((_now_ms(), message))
    return {"errorType": "Runtime.ExitError", "errorMessage": message}


def _tail(lines: list[tuple[int, str]]) -> str:
    text = "\n".join(message for _, message in lines).encode()[-LOG_RESULT_BYTES:]
    return text.decode(errors="ignore")


def _now_ms() -> int:
    return int(time.time() * 1000)
