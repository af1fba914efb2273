"""The lines Lambda itself writes around a function's output, and writing them to CloudWatch Logs.

What Lambda writes (Python runtimes, text log format):

    INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: arn:aws:lambda:...  (cold)
    START RequestId: <id> Version: $LATEST
    ... the function's lines ...
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 2.41 ms\tBilled Duration: 122 ms\tMemory Size: 128 MB
        \tMax Memory Used: 35 MB\tInit Duration: 119.18 ms                          (one line)

`Init Duration` appears on a cold start only. Billed Duration is rounded up to the millisecond
and, since 1 August 2025, includes the INIT phase for on-demand functions on managed runtimes
("AWS Lambda standardizes billing for INIT Phase", AWS Compute Blog, April 2025): above,
2.41 + 119.18 ms is billed as 122 ms.

Each execution environment writes to its own stream, `YYYY/MM/DD/[$LATEST]<32 hex>`, and keeps
writing to it while it is warm.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.logs.models import logs_backends

RUNTIME_VERSION_ARN = "arn:aws:lambda:{region}::runtime:pipectl-local"


def init_start(runtime: str, region: str, interpreter: str) -> str:
    """The INIT_START line; its last field (not Lambda's) names the Python that runs."""
    version = runtime.replace("python", "python:", 1)
    arn = RUNTIME_VERSION_ARN.format(region=region)
    return (
        f"INIT_START Runtime Version: {version}.local\tRuntime Version ARN: {arn}"
        f"\tInterpreter: {interpreter}"
    )


def start(request_id: str, version: Any) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report(
    request_id: str,
    duration_ms: float,
    memory_size: Any,
    max_memory_mb: int,
    init_ms: float | None = None,
) -> str:
    billed = math.ceil(round(duration_ms + (init_ms or 0.0), 6))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
        f"\tBilled Duration: {billed} ms\tMemory Size: {memory_size} MB"
        f"\tMax Memory Used: {max_memory_mb} MB"
    )
    return line + (f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else "")


def timed_out(request_id: str, timeout_s: float) -> str:
    return f"{iso_now()} {request_id} Task timed out after {float(timeout_s):.2f} seconds"


def stream_name(version: Any) -> str:
    return f"{datetime.now(timezone.utc):%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def write(fn: Any, stream: str, lines: list[tuple[int, str]]) -> None:
    """Append `lines` to `stream` in the function's group, creating either if missing.
    Timestamps never go backwards (PutLogEvents wants them in order within a batch)."""
    backend = logs_backends[fn.account_id][fn.region]
    backend.ensure_log_group(fn.logs_group_name)
    backend.ensure_log_stream(fn.logs_group_name, stream)
    events, latest = [], 0
    for timestamp, message in lines:
        latest = max(latest, timestamp)
        events.append({"timestamp": latest, "message": message})
    backend.put_log_events(fn.logs_group_name, stream, events)


def iso_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
