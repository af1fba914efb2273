"""`pipectl backfill`: how fast it dispatches, and how long until every object has its item.

    python benchmarks/bench_backfill.py [--objects 10000] [--runs 3] [--quick] [--stand-in-only]
                                        [--no-dispatch] [--no-emulator] [--batch-size 100]

Plain script, not a test: figures are printed next to their targets, never asserted.

1. Dispatch rate against a moto server in its own process: a bucket of N objects under 20
   prefixes, an empty table, `pipectl backfill --yes --json` run in this process (listing, the
   BatchGetItem check and the Invoke calls; default batch size and concurrency). A fixed latency
   is injected before every HTTP request (bench_up.latency_hook, a botocore `before-send` hook
   passed through Runtime(hooks=...)). moto's server would need Docker to run a function, so
   Lambda's asynchronous Invoke is answered 202 by a `before-call` hook after the same latency,
   as Lambda answers once it has queued the event. Also: the listing alone, one listing after
   another vs prefixes side by side, to show whether listing side by side helps.
1b. The same run with AWS's side stood in (benchmarks/backfill_stand_in.py): a `before-send`
   hook in this process sleeps the same latency, then answers with real wire-format responses
   that botocore parses (ListObjectsV2 pages rendered before the clock, BatchGetItem finding
   nothing, Invoke 202), so moto's server (~0.5 ms of CPU per object here) no longer bounds it.
   Counts and every record sent are checked against the listing. The target is judged here.
2. The embedded emulator, end to end: N objects uploaded before `pipectl up`, then the wall time
   from `pipectl backfill --yes` until a Scan counts N items (the function really runs, in the
   emulator's executor).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_up  # noqa: E402
from backfill_stand_in import NOWHERE, WHAT_IT_INCLUDES, StandIn  # noqa: E402

REGION = "us-east-1"
BUCKET = "serverless-data-input-123456789012-us-east-1"
TABLE = "ProcessedResults"
FUNCTION = "serverless-data-processor"
PREFIXES = 20
TARGET_DISPATCH_PER_S = 2000  # at 50 ms per call
TARGET_EMULATOR_S = 60.0  # 10,000 objects fully processed


def keys(count: int) -> list[str]:
    return [f"incoming/{i % PREFIXES:02d}/photo {i:05d}+é.jpg" for i in range(count)]


def put_objects(client: Any, names: list[str]) -> float:
    """Upload `names` (16 at a time); how long it took."""
    start = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        for _ in pool.map(lambda key: client.put_object(Bucket=BUCKET, Key=key, Body=b"x"), names):
            pass
    return time.perf_counter() - start


def accept_invokes(latency_ms: float) -> Callable[[Any], None]:
    """A client hook answering lambda.Invoke with 202 after `latency_ms`, as Lambda answers an
    asynchronous invoke once the event is queued."""
    from botocore.awsrequest import AWSResponse

    def before_call(model: Any, **_: Any) -> Any:
        if model.service_model.service_name != "lambda" or model.name != "Invoke":
            return None
        time.sleep(latency_ms / 1000)
        return AWSResponse("https://lambda.invalid", 202, {}, None), {
            "StatusCode": 202,
            "ResponseMetadata": {"HTTPStatusCode": 202},
        }

    def hook(client: Any) -> None:
        client.meta.events.register("before-call.*.*", before_call)

    return hook


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the living child processes of `pid` (the emulator's
    execution environments), Linux /proc; 0 where it cannot tell."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def backfill(url: str, hooks: list[Any], *flags: str) -> tuple[float, dict[str, Any]]:
    """`pipectl backfill --yes --json` in this process; (wall seconds, its JSON document)."""
    from typer.testing import CliRunner

    from pipectl.cli import app
    from pipectl.runtime import Runtime

    args = ["backfill", "--endpoint-url", url, "--yes", "--json", *flags]
    start = time.perf_counter()
    result = CliRunner().invoke(app, args, obj=Runtime(hooks=hooks))
    wall = time.perf_counter() - start
    if result.exit_code != 0:
        raise RuntimeError(f"pipectl backfill failed ({result.exit_code}): {result.output[-2000:]}")
    return wall, json.loads(result.stdout)


def deploy_for_dispatch(url: str) -> None:
    """Table and function as `up` makes them (the function's code never runs here)."""
    import zipfile

    from pipectl.resources.role import TRUST_POLICY

    def client(name: str) -> Any:
        return boto3.client(name, endpoint_url=url, region_name=REGION)

    client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    role = client("iam").create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    client("lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )


def listing_only(url: str, latency_ms: float, parallel: int) -> tuple[float, int]:
    """The backfill's listing alone; (wall seconds, objects listed)."""
    from pipectl.aws import Aws, Target
    from pipectl.backfill.listing import Source, list_objects

    aws = Aws(Target(REGION, endpoint_url=url), hooks=[bench_up.latency_hook(latency_ms)])
    s3 = aws.client("s3")
    start = time.perf_counter()
    count = sum(len(page) for page in list_objects(s3, Source(BUCKET), "", parallel))
    return time.perf_counter() - start, count


def bench_dispatch(count: int, runs: int, latencies: list[float]) -> dict[float, float]:
    """Section 1; its objects/s by latency."""
    rates_by_latency = {}
    with bench_up.moto_server() as server:
        s3 = boto3.client("s3", endpoint_url=server.url, region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        took = put_objects(s3, keys(count))
        deploy_for_dispatch(server.url)
        print(f"{count:,} objects under {PREFIXES} prefixes uploaded in {took:.0f} s (setup)")
        print(
            f"{'latency':>7} {'wall s':>7} {'objects/s':>10} {'invocations':>11} "
            f"{'CPU ms/object: pipectl':>22} {'moto':>5}  target"
        )
        for latency in latencies:
            walls, ours, motos, invocations = [], [], [], 0
            for _ in range(runs):
                hooks = [bench_up.latency_hook(latency), accept_invokes(latency)]
                cpu, moto_cpu = time.process_time(), process_cpu_s(server.proc.pid)
                wall, doc = backfill(server.url, hooks)
                ours.append((time.process_time() - cpu) * 1000 / count)
                after = process_cpu_s(server.proc.pid)
                if moto_cpu is not None and after is not None:
                    motos.append((after - moto_cpu) * 1000 / count)
                if doc["dispatched"] != count:
                    raise RuntimeError(f"dispatched {doc['dispatched']} of {count}: {doc}")
                walls.append(wall)
                invocations = doc["invocations"]
            wall = statistics.median(walls)
            rates_by_latency[latency] = count / wall
            moto = f"{statistics.median(motos):.2f}" if motos else "?"
            target = f">= {TARGET_DISPATCH_PER_S:,}/s" if latency == 50 else ""
            print(
                f"{latency:>5.0f}ms {wall:>7.2f} {count / wall:>10,.0f} {invocations:>11} "
                f"{statistics.median(ours):>22.2f} {moto:>5}  {target}"
            )
        print(
            "(CPU: this process -- pipectl, plus the latency and Invoke hooks -- and the moto "
            "server's process, per object; they share this machine's cores)"
        )
        print("\nthe listing alone (objects/s), one listing vs prefixes side by side:")
        for latency in latencies:
            rates = {}
            for parallel in (1, 8):
                walls = []
                for _ in range(runs):
                    wall, listed = listing_only(server.url, latency, parallel)
                    assert listed == count, (listed, count)
                    walls.append(wall)
                rates[parallel] = count / statistics.median(walls)
            print(
                f"{latency:>5.0f}ms  one listing {rates[1]:>7,.0f}/s   side by side "
                f"{rates[8]:>7,.0f}/s   ({rates[8] / rates[1]:.1f}x)"
            )
    return rates_by_latency


def dispatch_stand_in(count: int, latency_ms: float) -> tuple[float, float, StandIn]:
    """One checked run against a stand-in of `count` objects (pre-rendered before the clock);
    (wall seconds, this process's CPU seconds, the stand-in)."""
    stand_in = StandIn(keys(count), latency_ms)
    stand_in.prerender()
    cpu = time.process_time()
    wall, doc = backfill(NOWHERE, [stand_in.hook])
    cpu = time.process_time() - cpu
    stand_in.check(doc)  # after the clock: every listed object sent once, unchanged
    return wall, cpu, stand_in


def bench_stand_in(count: int, runs: int, latencies: list[float], moto: dict[float, float]) -> None:
    dispatch_stand_in(100, 0.0)  # warm-up (imports), not counted
    print(
        f"{'latency':>7} {'wall s':>7} {'objects/s':>10} {'CPU ms/object':>13} "
        f"{'moto server (section 1)':>23}  target"
    )
    for latency in latencies:
        walls, cpus, late = [], [], 0
        for _ in range(runs):
            wall, cpu, stand_in = dispatch_stand_in(count, latency)
            walls.append(wall)
            cpus.append(cpu * 1000 / count)
            late += stand_in.rendered_late
        rate = count / statistics.median(walls)
        beside = f"{moto[latency]:,.0f}/s" if latency in moto else "not run"
        target = ""
        if latency == 50:
            met = "met" if rate >= TARGET_DISPATCH_PER_S else "missed"
            target = f">= {TARGET_DISPATCH_PER_S:,}/s: {met}"
        print(
            f"{latency:>5.0f}ms {statistics.median(walls):>7.2f} {rate:>10,.0f} "
            f"{statistics.median(cpus):>13.2f} {beside:>23}  {target}"
        )
        if late:
            print(f"  ({late} listing pages were rendered during the runs, in their CPU)")
    print(WHAT_IT_INCLUDES)


def item_count(dynamodb: Any) -> int:
    total = 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE, Select="COUNT"):
        total += page["Count"]
    return total


def keys_with_items(dynamodb: Any, names: list[str]) -> set[str]:
    """Which of `names` have an item (BatchGetItem, 100 keys a call, only the key read)."""
    found: set[str] = set()
    for start in range(0, len(names), 100):
        pending: Any = [{"file_name": {"S": key}} for key in names[start : start + 100]]
        while pending:
            response = dynamodb.batch_get_item(
                RequestItems={TABLE: {"Keys": pending, "ProjectionExpression": "file_name"}}
            )
            found.update(item["file_name"]["S"] for item in response["Responses"][TABLE])
            pending = response.get("UnprocessedKeys", {}).get(TABLE, {}).get("Keys")
    return found


def still_missing(dynamodb: Any, names: list[str]) -> list[str]:
    """The keys among `names` that may have no item yet, looked at 100 at a time from the end
    (the objects dispatched last): the first 100 with one missing end the look, and the keys
    before them are returned unchecked. So a look costs one BatchGetItem until the end is near,
    and each key is confirmed once."""
    for end in range(len(names), 0, -100):
        chunk = names[max(0, end - 100) : end]
        found = keys_with_items(dynamodb, chunk)
        if len(found) < len(chunk):
            return names[: max(0, end - 100)] + [key for key in chunk if key not in found]
    return []


def wait_for_items(dynamodb: Any, names: list[str], start: float, timeout_s: float) -> int:
    """Wait until every key in `names` (in dispatch order) has an item, looking every 0.5 s;
    how many have one at the end.

    The observer must not slow what it measures: the emulator's server (one Python process)
    also writes the items, and a Scan of the whole table costs it about 0.14 ms of CPU per item
    (1.4 s at 10,000 items), so the previous Scan every second took a large share of its CPU.
    Items are never deleted here, so a key seen with an item needs no second look.
    """
    missing = list(names)
    while missing and time.perf_counter() - start < timeout_s:
        missing = still_missing(dynamodb, missing)
        if missing:
            time.sleep(0.5)
    return len(names) - len(missing)


def bench_emulator(count: int, batch_size: int) -> None:
    from typer.testing import CliRunner

    from pipectl.cli import app
    from pipectl.local import server
    from pipectl.runtime import Runtime

    with tempfile.TemporaryDirectory() as home:
        info, _ = server.start(port=bench_up.free_port(), home=Path(home))
        try:
            url = info.endpoint_url
            s3 = boto3.client("s3", endpoint_url=url, region_name=REGION)
            s3.create_bucket(Bucket=BUCKET)
            took = put_objects(s3, keys(count))
            up = CliRunner().invoke(app, ["up", "--endpoint-url", url, "--json"], obj=Runtime())
            if up.exit_code != 0:
                print(f"pipectl up on the emulator failed: {up.output[-1500:]}")
                return
            print(f"{count:,} objects uploaded before `up` in {took:.0f} s (setup)")
            dynamodb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION)
            emulator_cpu = process_cpu_s(info.pid)
            functions_cpu = children_cpu_s(info.pid)
            start = time.perf_counter()
            dispatch_s, doc = backfill(url, [], "--batch-size", str(batch_size))
            seen = wait_for_items(dynamodb, keys(count), start, 600)
            total = time.perf_counter() - start
            after = process_cpu_s(info.pid)
            functions_cpu = children_cpu_s(info.pid) - functions_cpu
            counted = item_count(dynamodb)  # after the clock stopped: the table holds them all
            busy = "?"
            if emulator_cpu is not None and after is not None:
                used = after - emulator_cpu
                busy = f"{used:.0f} s ({used * 1000 / count:.1f} ms per object)"
        finally:
            server.stop(Path(home))
    print(
        f"backfill returned after {dispatch_s:.1f} s ({doc['dispatched']:,} dispatched in "
        f"{doc['invocations']} invocations)"
    )
    print(
        f"the emulator's server process (moto: S3, DynamoDB, Lambda's API) used {busy} of CPU "
        "meanwhile; the functions' execution environments (processes of their own) "
        f"{functions_cpu:.0f} s ({functions_cpu * 1000 / count:.1f} ms per object)"
    )
    verdict = "met" if seen == counted == count and total <= TARGET_EMULATOR_S else "missed"
    if count != 10_000:
        verdict = f"not measured: this run had {count:,}"
    print(
        f"every item there after {total:.1f} s ({seen:,} of {count:,}, a Scan then counts "
        f"{counted:,}; "
        f"target <= {TARGET_EMULATOR_S:.0f} s for 10,000: {verdict})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=10_000, help="objects in the bucket")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="one run each")
    parser.add_argument("--batch-size", type=int, default=100, help="section 2's --batch-size")
    parser.add_argument("--no-dispatch", action="store_true", help="skip section 1")
    parser.add_argument("--no-emulator", action="store_true", help="skip section 2")
    parser.add_argument(
        "--stand-in-only", action="store_true", help="only section 1b (AWS's side stood in)"
    )
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    with bench_up.isolated():
        moto: dict[float, float] = {}
        if not args.no_dispatch and not args.stand_in_only:
            print(f"== 1. dispatch rate: backfill against a moto server ({args.objects:,}) ==")
            moto = bench_dispatch(args.objects, runs, [0.0, 50.0])
        if not args.no_dispatch:
            print(
                f"\n== 1b. dispatch rate: AWS's side stood in, no server CPU ({args.objects:,}) =="
            )
            bench_stand_in(args.objects, runs, [0.0, 50.0], moto)
        if not args.no_emulator and not args.stand_in_only:
            print(f"\n== 2. the emulator: backfill until every item exists ({args.objects:,}) ==")
            bench_emulator(args.objects, args.batch_size)


if __name__ == "__main__":
    main()
