"""A conditional PutItem's cost to the emulator's server, with and without moto_memo.py.

    python benchmarks/emulator_put_item.py [--puts 1500] [--rounds 3]

Plain script, not a test: figures are printed, never asserted. A backfill costs the emulator one
PutItem per object, sent by the handler with its ordering rule as a ConditionExpression, and the
emulator's server (one Python process) is what bounds a 10,000-object backfill
(benchmarks/bench_backfill.py, section 2). Two emulator servers run side by side: pipectl's as
shipped, and the same with moto_memo.install() made a no-op before it starts. One client sends
`--puts` PutItems to each in turn, `--rounds` times, each with the handler's backfill condition,
then the same number without one; the server's CPU (user + system, /proc) per request is
reported, median and range over the rounds.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from bench_backfill import process_cpu_s
from bench_up import REGION, bench_env, free_port

ROOT = Path(__file__).resolve().parent.parent
SERVE = "import sys; from pipectl.local.serve import main; sys.exit(main(sys.argv[1:]))"
NO_MEMO = "from pipectl.local import moto_memo; moto_memo.install = lambda: None; " + SERVE
TABLE = "ProcessedResults"
CONDITION = "attribute_not_exists(#t) OR (#run <> :run AND (#etag = :etag OR #t < :t))"


@contextmanager
def emulator(code: str) -> Iterator[tuple[str, int]]:
    """An emulator server started with `code` (python -c), on a free port; (url, pid)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = bench_env()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        args = ["--port", str(port), "--home", home]
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, proc)
            yield f"http://127.0.0.1:{port}", proc.pid
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the emulator exited ({proc.returncode})")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("the emulator did not start within 60 s")


def dynamodb_at(url: str) -> Any:
    env = bench_env()
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def item(key: str, run: str) -> dict[str, Any]:
    """An item as the handler writes one from a backfill record."""
    return {
        "file_name": {"S": key},
        "bucket": {"S": "input"},
        "status": {"S": "Processed"},
        "source": {"S": "backfill"},
        "event_name": {"S": "ObjectCreated:Put"},
        "processed_at": {"S": "2026-11-30T00:00:01.000+00:00"},
        "etag": {"S": "d41d8cd98f00b204e9800998ecf8427e"},
        "event_time": {"S": "2026-11-30T00:00:00.000Z"},
        "backfill_run": {"S": run},
        "request_id": {"S": "0f4c7a5e-0000-4000-8000-000000000000"},
        "size": {"N": "1024"},
    }


def cpu_ms_per_put(client: Any, pid: int, keys: list[str], run: str, conditional: bool) -> float:
    before = process_cpu_s(pid) or 0.0
    for key in keys:
        extra: dict[str, Any] = {}
        if conditional:
            extra = {
                "ConditionExpression": CONDITION,
                "ExpressionAttributeNames": {
                    "#t": "event_time",
                    "#run": "backfill_run",
                    "#etag": "etag",
                },
                "ExpressionAttributeValues": {
                    ":t": {"S": "2026-11-30T00:00:00.000Z"},
                    ":run": {"S": run},
                    ":etag": {"S": "d41d8cd98f00b204e9800998ecf8427e"},
                },
            }
        client.put_item(TableName=TABLE, Item=item(key, run), **extra)
    return ((process_cpu_s(pid) or 0.0) - before) * 1000 / len(keys)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ms ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--puts", type=int, default=1500, help="PutItems per round and kind")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median reported)")
    args = parser.parse_args()
    figures: dict[tuple[str, bool], list[float]] = {}
    with emulator(SERVE) as shipped, emulator(NO_MEMO) as plain:
        servers = {"pipectl's emulator": shipped, "without moto_memo": plain}
        clients = {name: dynamodb_at(url) for name, (url, _) in servers.items()}
        for round_ in range(args.rounds):
            keys = [f"r{round_}/{i}" for i in range(args.puts)]
            for conditional in (True, False):
                for name, (_, pid) in servers.items():
                    run = f"run-{round_}-{conditional}"
                    cost = cpu_ms_per_put(clients[name], pid, keys, run, conditional)
                    figures.setdefault((name, conditional), []).append(cost)
    print(
        f"server CPU per PutItem, {args.puts} per round, median of {args.rounds} rounds (min-max)"
    )
    for name in servers:
        print(
            f"  {name:20s} conditional {spread(figures[(name, True)])}"
            f"   unconditional {spread(figures[(name, False)])}"
        )


if __name__ == "__main__":
    main()
