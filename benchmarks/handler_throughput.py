"""Measure handler/app.py throughput (records per second) against moto's in-process DynamoDB.

Plain script, not a test:  python benchmarks/handler_throughput.py [--runs 5]

The figures measure the handler plus boto3 request building plus moto, with no network, so
they are an upper bound for code overhead, not a prediction of real DynamoDB latency (each
PutItem is one sequential round trip; on AWS that is typically a few milliseconds).
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
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

APP_PATH = Path(__file__).resolve().parents[1] / "handler" / "app.py"
TABLE = "pipectl-bench-items"
SIZES = (1, 100, 1000)


def load_app() -> ModuleType:
    """Load the handler by path, as Lambda loads the deployed app.py."""
    spec = importlib.util.spec_from_file_location("pipectl_handler_app_bench", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_event(n: int, run: int) -> dict[str, Any]:
    """An event of n ObjectCreated records with distinct keys and increasing sequencers."""
    records = []
    for i in range(n):
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-28T12:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "bench-bucket"},
                    "object": {
                        "key": f"run-{run}/n{n}/file+{i:05d}+%C3%A9.csv",
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": f"0055AED6DCD9{i:06X}",
                    },
                },
            }
        )
    return {"Records": records}


def measure(app: ModuleType, n: int, runs: int) -> tuple[float, float]:
    """Return (median records/s, median seconds per invocation) over `runs` fresh events."""
    seconds = []
    for run in range(runs):
        event = make_event(n, run)
        context = SimpleNamespace(aws_request_id=f"bench-{n}-{run}")
        with contextlib.redirect_stdout(io.StringIO()):  # keep the JSON log lines out of the table
            start = time.perf_counter()
            result = app.lambda_handler(event, context)
            seconds.append(time.perf_counter() - start)
        assert result == {"processed": n, "skipped": 0, "failed": 0}, result
    median = statistics.median(seconds)
    return n / median, median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per size (median is reported)")
    args = parser.parse_args()

    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(var, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        TABLE_NAME=TABLE,
    )
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        app = load_app()
        with contextlib.redirect_stdout(io.StringIO()):
            app.lambda_handler(make_event(1, -1), None)  # warm-up: client creation, imports

        print(f"handler throughput under moto (median of {args.runs} runs, warm client)")
        print(f"{'records/event':>13} | {'median s/invocation':>19} | {'records/s':>10}")
        print(f"{'-' * 13}-+-{'-' * 19}-+-{'-' * 10}")
        for n in SIZES:
            rate, median = measure(app, n, args.runs)
            print(f"{n:>13} | {median:>19.4f} | {rate:>10.0f}")


if __name__ == "__main__":
    main()
