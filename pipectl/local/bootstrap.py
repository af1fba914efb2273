"""Runs one Lambda invocation in a child process, the way the Python Lambda runtime would.

The local executor (executor.py) starts this file by its path, with the unpacked code as the
working directory and `PYTHONPATH`, the function's environment, and the event on stdin. It imports
the configured handler, calls it with the event and a context object, and writes the outcome as
JSON to the file named by `--result`: `{"payload": "<json>"}` or `{"error": {...}}`. That file is
the result channel, so whatever the handler prints stays log output and never mixes with it.

Standard library only: this runs with the function's code first on `sys.path`, not pipectl's.
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
from collections.abc import Callable
from typing import Any


class LambdaContext:
    """The subset of Lambda's context object that handlers use."""

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str) -> None:
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

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _LambdaLogFormatter(logging.Formatter):
    """Lambda's default log line: `[LEVEL]\\t<UTC time>Z\\t<request id>\\t<message>`."""

    converter = time.gmtime

    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t{request_id}\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )


def _install_logging(request_id: str) -> None:
    """The Lambda runtime gives the root logger a handler, so `logger.info` reaches the logs
    once a function lowers the level; without this, logging output would vanish locally."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_LambdaLogFormatter(request_id))
    logging.getLogger().addHandler(handler)


def _error(error_type: str, message: str, frames: list[str] | None = None) -> dict[str, Any]:
    """Lambda's error payload, and its `[ERROR]` log lines printed as the runtime does."""
    print(f"[ERROR] {error_type}: {message}")
    print("Traceback (most recent call last):")
    for frame in frames or []:
        print(frame.rstrip("\n"))
    return {"errorMessage": message, "errorType": error_type, "stackTrace": frames or []}


def _frames(exc: BaseException) -> list[str]:
    """The traceback of `exc` without the bootstrap's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    return traceback.format_list([f for f in frames if f.filename != __file__])


def _load_handler(spec: str) -> Callable[[Any, LambdaContext], Any] | dict[str, Any]:
    """Import `module.func` (a `/` in the module part works as in Lambda); an error payload
    with Lambda's Runtime.* error types when that fails."""
    module_name, _, func_name = spec.rpartition(".")
    if not module_name or not func_name:
        return _error("Runtime.MalformedHandlerName", f"Bad handler '{spec}': expected module.func")
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


def run(handler_spec: str, event: Any, context: LambdaContext) -> dict[str, Any]:
    """Call the handler; `{"payload": ...}` or `{"error": ...}` for the result file."""
    handler = _load_handler(handler_spec)
    if isinstance(handler, dict):
        return {"error": handler}
    try:
        result = handler(event, context)
    except Exception as exc:  # the handler's exception is the invocation's error
        return {"error": _error(type(exc).__name__, str(exc), _frames(exc))}
    try:
        return {"payload": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        return {"error": _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--result", required=True, help="file to write the outcome to")
    parser.add_argument("--request-id", required=True)
    parser.add_argument("--deadline-ms", type=int, required=True, help="epoch ms")
    parser.add_argument("--function-arn", default="")
    args = parser.parse_args(argv)

    # Started by path, Python put this file's directory first on sys.path: the function's
    # modules must not be shadowed by pipectl's (a `server.py` of its own, say).
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.argv = [sys.argv[0]]

    event = json.loads(sys.stdin.read() or "{}")
    context = LambdaContext(args.request_id, args.deadline_ms, args.function_arn)
    _install_logging(args.request_id)
    outcome = run(os.environ.get("_HANDLER", ""), event, context)
    sys.stdout.flush()
    with open(args.result, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    return 0


if __name__ == "__main__":
    status = main()
    # Lambda keeps its process for the next event and never tears the interpreter down; doing
    # so here would add the teardown of everything the function imported (~0.2 s with boto3)
    # to every invocation. Flush what was printed, then leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
