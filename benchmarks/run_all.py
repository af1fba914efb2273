"""All of pipectl's benchmarks in one run, eight sections, medians printed (nothing asserted):

1. `pipectl up` cold and re-run against a moto server: wall time, API calls, injected latency
2. the same console steps with the aws CLI against the same server; pipectl ÷ aws CLI
3. start-up: `pipectl --help` vs `aws --version`
4. `pipectl verify` upload -> item latency on the embedded emulator, cold and warm
5. the Lambda handler's records per second
6. 500 uploads in a burst through the embedded emulator
7. `pipectl backfill`: objects dispatched per second (moto server, then AWS's side stood in at no
   server CPU; 0 and 50 ms per call) and
   10,000 objects processed end to end on the emulator (a few minutes: uploading them is setup),
   and what a conditional PutItem costs the emulator's server with and without moto_memo
8. a no-change `pipectl up` against AWS Chalice's re-deploy (installs chalice into a temp venv)

  python benchmarks/run_all.py [--runs 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_startup  # noqa: E402
import bench_up  # noqa: E402


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def run_script(name: str, *args: str) -> None:
    """Run another benchmark script of this folder in its own process and show its output."""
    path = BENCH_DIR / name
    if not path.exists():
        print(f"not available yet: benchmarks/{name} does not exist")
        return
    result = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, env=bench_up.bench_env()
    )
    print(result.stdout.rstrip())
    if result.returncode != 0:
        print(f"benchmarks/{name} failed ({result.returncode}): {result.stderr[-1500:]}")


def cli_commands() -> set[str]:
    from pipectl.cli import app

    return {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}


def verify_latency(runs: int) -> None:
    """`pipectl up` then `pipectl verify --json` `runs` times on a fresh emulator; the JSON
    document carries verify's own upload -> item and upload -> log line latencies."""
    if "verify" not in cli_commands():
        print("not available yet: pipectl has no `verify` command")
        return
    try:
        from pipectl.local import server
    except ImportError as exc:
        print(f"not available yet: the emulator cannot be imported ({exc})")
        return
    from typer.testing import CliRunner

    from pipectl.cli import app
    from pipectl.runtime import Runtime

    with tempfile.TemporaryDirectory() as home:
        info, _ = server.start(port=bench_up.free_port(), home=Path(home))
        try:
            endpoint = ["--endpoint-url", info.endpoint_url, "--json"]
            up = CliRunner().invoke(app, ["up", *endpoint], obj=Runtime())
            if up.exit_code != 0:
                print(f"pipectl up on the emulator failed: {up.output[-1500:]}")
                return
            item_ms, logs_ms, walls = [], [], []
            for _ in range(runs):
                start = time.perf_counter()
                result = CliRunner().invoke(app, ["verify", *endpoint], obj=Runtime())
                walls.append(time.perf_counter() - start)
                document = json.loads(result.stdout)
                if result.exit_code != 0 or not document.get("ok"):
                    print(f"pipectl verify failed: {result.stdout[-1500:]}")
                    return
                item_ms.append(document["latency_ms"])
                logs_ms.append(document["logs_latency_ms"])
        finally:
            server.stop(Path(home))
    print(f"pipectl verify on the emulator, median of {runs} runs:")
    print(f"  upload -> DynamoDB item   {statistics.median(item_ms):>6.0f} ms")
    print(f"  upload -> handler log line {statistics.median(logs_ms):>5.0f} ms")
    print(f"  whole verify command      {statistics.median(walls) * 1000:>6.0f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median reported)")
    parser.add_argument("--quick", action="store_true", help="2 runs, latencies 0 and 100 ms")
    args = parser.parse_args(argv)
    runs = min(args.runs, 2) if args.quick else args.runs
    latencies = [0.0, 100.0] if args.quick else [0.0, 100.0, 200.0]
    started = time.perf_counter()

    with bench_up.isolated():
        bench_up.run_sections(runs, latencies)  # sections 1 and 2
        section("3. start-up: pipectl --help vs aws --version")
        bench_startup.run(max(5, 2 * runs))
        section("4. verify: upload -> item latency on the embedded emulator")
        verify_latency(runs)
        print("raw boto3 probe of the emulator (benchmarks/emulator_latency.py):")
        run_script("emulator_latency.py", "--uploads", str(max(5, 2 * runs)))
        section("5. the handler's records per second (benchmarks/handler_throughput.py)")
        run_script("handler_throughput.py", "--runs", str(runs))
        section("6. 500 uploads in a burst on the embedded emulator (benchmarks/emulator_burst.py)")
        run_script("emulator_burst.py", "--uploads", "200" if args.quick else "500")
        section("7. backfill: dispatch rate, and 10,000 objects on the emulator")
        run_script("bench_backfill.py", "--runs", str(min(runs, 3)))
        print("what one conditional PutItem costs the emulator's server (emulator_put_item.py):")
        run_script("emulator_put_item.py", "--rounds", str(min(runs, 3)))
        section("8. no-change pipectl up vs Chalice's re-deploy (benchmarks/bench_chalice.py)")
        run_script("bench_chalice.py", "--runs", str(runs), "--latencies", "0,100")

    print(f"\nall sections in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
