"""Measure handler/app.py throughput (records per second) with a fixed latency per DynamoDB call.

Plain script, not a test:  python benchmarks/handler_throughput.py [--runs 5] [--workers N]

Every record costs one conditional PutItem. The latency of a DynamoDB round trip is injected
with a botocore ``before-send`` hook on the handler's own client (one sleep per HTTP request,
as benchmarks/bench_up.py does for pipectl). Two back ends answer the PutItems:

* ``stand-in``: after the sleep the hook answers with PutItem's real success response (``{}``).
  Everything the handler and boto3 do per record is measured (parsing, item and condition
  building, serializing and signing the request, parsing the response, the thread pool, the
  log lines); the server's side (evaluating the condition) is not in this process -- as on AWS,
  where DynamoDB's work is not the Lambda's. The target is judged here.
* ``moto``: moto's in-process DynamoDB evaluates every condition. moto's own cost per PutItem
  (2-4 ms of Python here, most of it request dispatch and parsing the condition expression
  twice) runs under the handler's GIL, so on this machine these figures are bounded by moto,
  not by the handler: the 0 ms row is that bound.

The events are ``pipectl backfill`` events (the many-record case) with a distinct key per
record; ``--kind s3`` sends S3-shaped records with sequencers instead (one PutItem each too).
``--workers 1`` reproduces the previous handler's one-write-after-another behaviour.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from botocore.awsrequest import AWSResponse

APP_PATH = Path(__file__).resolve().parents[1] / "handler" / "app.py"
TABLE = "pipectl-bench-items"
SIZES = (1, 100, 1000)
LATENCIES_MS = (0.0, 10.0)
TARGETS = {(1000, 10.0): 400.0}  # records/s for a 1,000-record event at 10 ms per call


def load_app() -> ModuleType:
    """Load the handler by path, as Lambda loads the deployed app.py."""
    spec = importlib.util.spec_from_file_location("pipectl_handler_app_bench", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_record(kind: str, key: str, i: int) -> dict[str, Any]:
    """One ObjectCreated record shaped like S3's, or like `pipectl backfill` sends it."""
    obj: dict[str, Any] = {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e"}
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T12:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "bench-bucket"}, "object": obj},
    }
    if kind == "backfill":
        record["pipectl"] = {
            "backfill": True,
            "run_id": "20261129T120000Z-bench0",
            "lastModified": "2026-11-28T12:00:00.000Z",
        }
    else:
        obj["sequencer"] = f"0055AED6DCD9{i:06X}"
    return record


def make_event(kind: str, n: int, tag: str) -> dict[str, Any]:
    """An event of n records with distinct, URL-encoded keys (new items: every put writes)."""
    keys = [f"{tag}/n{n}/file+{i:05d}+%C3%A9.csv" for i in range(n)]
    return {"Records": [make_record(kind, key, i) for i, key in enumerate(keys)]}


class Latency:
    """A before-send hook: sleep `ms` per request; as the stand-in, then answer it with success."""

    def __init__(self, stand_in: bool) -> None:
        self.ms = 0.0
        self.stand_in = stand_in

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.ms:
            time.sleep(self.ms / 1000)
        if not self.stand_in:
            return None  # moto answers
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, Body())


class Body:
    """The raw body of PutItem's success response without ReturnValues: an empty JSON object."""

    def stream(self) -> Iterator[bytes]:
        yield b"{}"


def measure(app: ModuleType, kind: str, n: int, tag: str, runs: int) -> float:
    """Median records/s over `runs` invocations, each with fresh keys."""
    seconds = []
    for run in range(runs):
        event = make_event(kind, n, f"{tag}-run{run}")
        context = SimpleNamespace(aws_request_id=f"bench-{n}-{run}")
        with contextlib.redirect_stdout(io.StringIO()):  # keep the JSON log lines out of the table
            start = time.perf_counter()
            result = app.lambda_handler(event, context)
            seconds.append(time.perf_counter() - start)
        assert result == {"processed": n, "skipped": 0, "failed": 0}, result
    return n / statistics.median(seconds)


def verdict(n: int, latency_ms: float, rate: float) -> str:
    target = TARGETS.get((n, latency_ms))
    if target is None:
        return "-"
    return f">= {target:.0f} ({'met' if rate >= target else 'MISSED'})"


def run_backend(backend: str, args: argparse.Namespace) -> None:
    """Print one table: every size at every latency, against one back end."""
    app = load_app()
    if args.workers:
        app.WRITE_WORKERS = args.workers
    latency = Latency(stand_in=backend == "stand-in")
    app._get_client().meta.events.register("before-send.dynamodb.PutItem", latency)
    with contextlib.redirect_stdout(io.StringIO()):
        app.lambda_handler(make_event(args.kind, 1, f"{backend}-warm-up"), None)

    print(
        f"\n{backend}: {args.kind} records, {app.WRITE_WORKERS} writer threads "
        f"(median of {args.runs} runs, warm client)"
    )
    print(f"{'records/event':>13} | {'latency/call':>12} | {'records/s':>9} | target")
    print(f"{'-' * 13}-+-{'-' * 12}-+-{'-' * 9}-+-{'-' * 18}")
    for latency_ms in LATENCIES_MS:
        latency.ms = latency_ms
        for n in SIZES:
            rate = measure(app, args.kind, n, f"{backend}-{latency_ms:g}ms", args.runs)
            target = verdict(n, latency_ms, rate) if backend == "stand-in" else "-"
            print(f"{n:>13} | {latency_ms:>9.0f} ms | {rate:>9.0f} | {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median reported)")
    parser.add_argument("--workers", type=int, default=None, help="override app.WRITE_WORKERS")
    parser.add_argument("--kind", choices=("backfill", "s3"), default="backfill")
    parser.add_argument("--backend", choices=("both", "stand-in", "moto"), default="both")
    args = parser.parse_args()

    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(var, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        TABLE_NAME=TABLE,
    )
    if args.backend in ("both", "stand-in"):
        # Outside mock_aws (moto would answer every request too); a closed local port as the
        # endpoint means no request could leave this machine even if the stand-in did not answer.
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:9"
        run_backend("stand-in", args)
        del os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    if args.backend in ("both", "moto"):
        import boto3
        from moto import mock_aws

        with mock_aws():
            boto3.client("dynamodb").create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            run_backend("moto", args)


if __name__ == "__main__":
    main()
