"""A warm Lambda execution environment: one child process, many invocations, as the Python
runtime does it.

The executor (environments.py) starts this file by its path with the unpacked code as working
directory and first on `PYTHONPATH`, the function's environment, and two pipes besides stdout:
`--requests` (executor → here) and `--results` (here → executor). Each message on them is a JSON
header line, followed by `body` bytes when the header says so.

1. INIT: read `{"type": "init", "marker": M}`, import the handler (module-level code runs once,
   as on Lambda), print M on stdout, answer `{"type": "ready"}` or `{"type": "init_error",
   "error": {...}}`.
2. INVOKE, until the requests pipe closes: read `{"type": "invoke", "marker", "request_id",
   "deadline_ms", "function_arn", "body": n}` and n bytes of event JSON, call the handler, print
   the marker, answer `{"type": "result", "body": n}` + payload JSON or `{"type": "result",
   "error": {...}}`.

stdout and stderr are the function's log; the marker printed after each phase tells the executor
that every line of that phase has reached it. The result travels on its own pipe, so whatever the
handler prints never mixes with it.

Standard library only, and no syntax newer than Python 3.8: this runs on the function's Python,
with the function's code first on `sys.path`, not pipectl's.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
import traceback

_request_id = ""  # the invocation running now, for the log format


class LambdaContext:
    """The subset of Lambda's context object that handlers use."""

    def __init__(self, request_id, deadline_ms, function_arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        # A string, as in the real runtime (awslambdaric reads it straight from the environment).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _LambdaLogFormatter(logging.Formatter):
    """Lambda's default log line: `[LEVEL]\\t<UTC time>Z\\t<request id>\\t<message>`."""

    converter = time.gmtime

    def __init__(self):
        line = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
        super().__init__(line, "%Y-%m-%dT%H:%M:%S")

    def format(self, record):
        record.aws_request_id = _request_id
        return super().format(record)


def _install_logging():
    """The Lambda runtime gives the root logger a handler, so `logger.info` reaches the logs
    once a function lowers the level; without this, logging output would vanish locally."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_LambdaLogFormatter())
    logging.getLogger().addHandler(handler)


def _error(error_type, message, frames=None):
    """Lambda's error payload, and its `[ERROR]` log lines printed as the runtime does."""
    print(f"[ERROR] {error_type}: {message}")
    print("Traceback (most recent call last):")
    for frame in frames or []:
        print(frame.rstrip("\n"))
    return {"errorMessage": message, "errorType": error_type, "stackTrace": frames or []}


def _frames(exc):
    """The traceback of `exc` without the bootstrap's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    return traceback.format_list([f for f in frames if f.filename != __file__])


def load_handler(spec):
    """Import `module.func` (a `/` in the module part works as in Lambda): the handler, or an
    error payload with Lambda's Runtime.* error types."""
    module_name, _, func_name = spec.rpartition(".")
    if not module_name or not func_name:
        message = f"Bad handler '{spec}': expected module.func"
        return _error("Runtime.MalformedHandlerName", message)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:  # any import failure is the function's error
        return _error(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {exc}",
            _frames(exc),
        )
    handler = getattr(module, func_name, None)
    if not callable(handler):
        return _error(
            "Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'"
        )
    return handler


def call(handler, event, context):
    """Call the handler: ({"type": "result"} header fields, payload bytes)."""
    try:
        result = handler(event, context)
    except Exception as exc:  # the handler's exception is the invocation's error
        return {"error": _error(type(exc).__name__, str(exc), _frames(exc))}, b""
    try:
        payload = json.dumps(result).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return {"error": _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")}, b""
    return {"body": len(payload)}, payload


class Channel:
    """Header-line-plus-body messages over a pair of pipes."""

    def __init__(self, requests_fd, results_fd):
        for fd in (requests_fd, results_fd):
            os.set_inheritable(fd, False)  # never held open by the function's own children
        self._in = os.fdopen(requests_fd, "rb")
        self._out = os.fdopen(results_fd, "wb")

    def receive(self):
        """(header, body), or (None, b"") once the executor has gone."""
        line = self._in.readline()
        if not line:
            return None, b""
        header = json.loads(line)
        return header, self._in.read(header.get("body", 0))

    def send(self, header, body=b""):
        self._out.write(json.dumps(header).encode("utf-8") + b"\n" + body)
        self._out.flush()


def end_phase(log_fd, marker):
    """Flush what the function printed, then the marker, on the original stdout (a handler
    that replaces sys.stdout cannot swallow it)."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os.write(log_fd, (marker + "\n").encode("utf-8"))


def serve(channel, log_fd):
    global _request_id
    init, _ = channel.receive()
    if init is None:
        return
    handler = load_handler(os.environ.get("_HANDLER", ""))
    end_phase(log_fd, init["marker"])
    if isinstance(handler, dict):
        channel.send({"type": "init_error", "error": handler})
        return
    channel.send({"type": "ready"})
    while True:
        request, body = channel.receive()
        if request is None:
            return
        _request_id = request["request_id"]
        context = LambdaContext(_request_id, request["deadline_ms"], request["function_arn"])
        header, payload = call(handler, json.loads(body or b"{}"), context)
        end_phase(log_fd, request["marker"])
        channel.send(dict(header, type="result"), payload)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, required=True, help="fd to read requests from")
    parser.add_argument("--results", type=int, required=True, help="fd to write results to")
    args = parser.parse_args(argv)

    # Started by path, Python put this file's directory first on sys.path: the function's
    # modules must not be shadowed by pipectl's (a `server.py` of its own, say).
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.argv = [sys.argv[0]]

    _install_logging()
    serve(Channel(args.requests, args.results), os.dup(1))
    return 0


if __name__ == "__main__":
    status = main()
    # Never tear the interpreter down: that would run the teardown of everything the function
    # imported; the executor only waits for the process to be gone.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
