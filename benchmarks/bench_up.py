"""`pipectl up` against a moto server, cold and re-run, with and without injected per-call latency;
and the same console steps scripted with the aws CLI (benchmarks/aws_cli_steps.sh), timed in the
same run against the same server.

    python benchmarks/bench_up.py [--runs 5] [--latencies 0,100,200] [--quick]

Plain script, not a test: figures are printed, never asserted. The moto server runs in its own
process on a free port and is reset (POST /moto-api/reset) before every cold run. Latency is
injected with a botocore `before-send` hook (one sleep per HTTP request) passed to pipectl through
Runtime(hooks=...), and into the aws CLI through an equivalent CLI plugin
(benchmarks/aws_latency_plugin.py), so both tools pay the same emulated round trip per call.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipectl.resources.role import TRUST_POLICY

BENCH_DIR = Path(__file__).resolve().parent
AWS_CLI_STEPS = BENCH_DIR / "aws_cli_steps.sh"
BIN_DIR = Path(sys.executable).parent  # the real scripts, not a version manager's shims
REGION = "us-east-1"
LAB_ROLE = "LabRole"
SCENARIOS = ("create-role", LAB_ROLE)  # no role in IAM (pipectl creates one) / LabRole exists
TARGET_COLD_ROUND_TRIPS = 6
TRUST = TRUST_POLICY


def bench_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Dummy credentials, one region, and nothing from the machine's AWS or pipectl config."""
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")):
            del env[name]
    env.pop("PIPECTL_CONFIG", None)
    # Python writes bytecode caches by default; this machine's environment turns that off, which
    # would recompile pipectl's ~45 modules (editable, from source) in every process, while
    # tools installed by pip (Chalice, the aws CLI) ship theirs: ~140 ms of CPU per run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    missing = str(Path(tempfile.gettempdir()) / "pipectl-bench-no-such-file")
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=missing,
        AWS_SHARED_CREDENTIALS_FILE=missing,
        PATH=f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """moto's server in a child process (so it does not share pipectl's GIL), on a free port."""

    def __init__(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=bench_env(),
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited ({self.proc.returncode}); port taken?")
            try:
                self.reset()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto server did not start within 30 s") from None
                time.sleep(0.1)
        time.sleep(0.3)
        if self.proc.poll() is not None:  # answered, but another program owns the port
            raise RuntimeError("moto server exited right after start; port taken?")

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


def prepare(server: MotoServer, scenario: str) -> None:
    """An empty account; with the LabRole scenario, a pre-existing LabRole as in AWS Academy."""
    server.reset()
    if scenario == LAB_ROLE:
        import boto3

        iam = boto3.client("iam", endpoint_url=server.url, region_name=REGION)
        iam.create_role(RoleName=LAB_ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))


@dataclass
class Trace:
    """When each API call started and ended (per thread, as botocore calls are synchronous)."""

    calls: list[tuple[float, float, str]] = field(default_factory=list)
    open: dict[int, list[tuple[float, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        with self.lock:
            self.open.setdefault(threading.get_ident(), []).append((time.perf_counter(), name))

    def end(self, **_: Any) -> None:
        with self.lock:
            started, name = self.open[threading.get_ident()].pop()
            self.calls.append((started, time.perf_counter(), name))

    def round_trips(self) -> list[list[str]]:
        """Calls grouped by depth: a call's depth is one more than the deepest call that had
        ended before it started. The number of groups is the length of the longest chain of
        calls made one after the other: the critical path, in round trips."""
        depth: list[int] = []
        ordered = sorted(self.calls)
        for i, (started, _, _) in enumerate(ordered):
            before = [depth[j] for j in range(i) if ordered[j][1] <= started]
            depth.append(1 + max(before, default=0))
        groups: list[list[str]] = [[] for _ in range(max(depth, default=0))]
        for (_, _, name), d in zip(ordered, depth, strict=True):
            groups[d - 1].append(name)
        return groups


def latency_hook(latency_ms: float, trace: Trace | None = None) -> Callable[[Any], None]:
    """A pipectl client hook: sleep before every HTTP request, then let it proceed; with `trace`,
    also note when each operation starts and ends."""
    seconds = latency_ms / 1000

    def delay(**_: Any) -> None:
        time.sleep(seconds)

    def hook(client: Any) -> None:
        if seconds:
            client.meta.events.register("before-send.*.*", delay)
        if trace is not None:
            client.meta.events.register("before-call.*.*", trace.start)
            client.meta.events.register("after-call.*.*", trace.end)
            client.meta.events.register("after-call-error.*.*", trace.end)

    return hook


@dataclass(frozen=True)
class Run:
    wall_s: float
    calls: tuple[str, ...]
    processes: int = 1

    @property
    def mutating(self) -> int:
        from pipectl.aws import is_read

        return sum(1 for c in self.calls if not is_read(c))

    @property
    def reads(self) -> int:
        return len(self.calls) - self.mutating


def pipectl_in_process(url: str, latency_ms: float, trace: Trace | None = None) -> Run:
    """`pipectl up --endpoint-url URL --json` through the CLI, in this process."""
    from typer.testing import CliRunner

    from pipectl.cli import app
    from pipectl.runtime import Runtime

    hooks = [latency_hook(latency_ms, trace)] if latency_ms or trace is not None else []
    runtime = Runtime(hooks=hooks)
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["up", "--endpoint-url", url, "--json"], obj=runtime)
    wall = time.perf_counter() - start
    if result.exit_code != 0:
        raise RuntimeError(f"pipectl up failed ({result.exit_code}): {result.output}")
    assert runtime.last_aws is not None
    return Run(wall, tuple(runtime.last_aws.calls.calls))


def pipectl_process(url: str, latency_ms: float) -> Run:
    """The same in a new Python process, as a user runs it (interpreter start and imports
    included): this script's --child mode runs the CLI with the latency hook."""
    command = [sys.executable, __file__, "--child", url, "--child-latency-ms", str(latency_ms)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=bench_env())
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"pipectl up (process) failed: {result.stderr[-2000:]}")
    return Run(wall, tuple(json.loads(result.stdout.splitlines()[-1])["calls"]))


def aws_cli(url: str, latency_ms: float, role: str | None = None) -> Run:
    """benchmarks/aws_cli_steps.sh: one `aws` process per console step, in sequence."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.write_text(f"[default]\nregion = {REGION}\n[plugins]\nbench = aws_latency_plugin\n")
        call_log = Path(tmp) / "calls"
        env = bench_env()
        env.update(
            AWS_CONFIG_FILE=str(config),
            PYTHONPATH=f"{BENCH_DIR}{os.pathsep}{env.get('PYTHONPATH', '')}",
            PIPECTL_BENCH_LATENCY_MS=str(latency_ms),
            PIPECTL_BENCH_CALL_LOG=str(call_log),
        )
        command = ["bash", str(AWS_CLI_STEPS), url, *([role] if role else [])]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"aws_cli_steps.sh failed: {result.stderr[-2000:]}")
        calls = call_log.read_text().split() if call_log.exists() else []
    invocations = int(result.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1])
    return Run(wall, tuple(calls), invocations)


def median(values: list[float]) -> float:
    return statistics.median(values)


def same_or_range(values: list[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else f"{min(values)}-{max(values)}"


def per_operation(calls: tuple[str, ...]) -> str:
    counts = Counter(calls)
    return ", ".join(f"{op}{'' if n == 1 else f' x{n}'}" for op, n in counts.items())


def bench_pipectl(server: MotoServer, runs: int, latencies: list[float]) -> None:
    """Section 1: pipectl up, cold and re-run, per scenario and injected latency."""
    prepare(server, SCENARIOS[0])
    pipectl_in_process(server.url, 0)  # warm-up: imports, botocore's model cache
    header = (
        f"{'scenario':<12} {'latency':>7} {'run':<6} {'wall s':>7} {'calls':>5} {'mut':>4} "
        f"{'reads':>5} {'wall/(calls*lat)':>16} {'(wall-wall0)/lat':>16}"
    )
    print(header)
    print("-" * len(header))
    examples: dict[tuple[str, str], Run] = {}
    for scenario in SCENARIOS:
        base: dict[str, float] = {}
        for latency in latencies:
            cold: list[Run] = []
            rerun: list[Run] = []
            for _ in range(runs):
                prepare(server, scenario)
                cold.append(pipectl_in_process(server.url, latency))
                rerun.append(pipectl_in_process(server.url, latency))
            for label, group in (("cold", cold), ("re-run", rerun)):
                wall = median([r.wall_s for r in group])
                calls = [len(r.calls) for r in group]
                if latency == 0:
                    base[label] = wall
                    examples[(scenario, label)] = group[0]
                ratio = wall / (median(calls) * latency / 1000) if latency else None
                trips = (
                    (wall - base[label]) / (latency / 1000) if latency and label in base else None
                )
                print(
                    f"{scenario:<12} {latency:>5.0f}ms {label:<6} {wall:>7.2f} "
                    f"{same_or_range(calls):>5} {same_or_range([r.mutating for r in group]):>4} "
                    f"{same_or_range([r.reads for r in group]):>5} "
                    f"{'-' if ratio is None else f'{ratio:.2f}':>16} "
                    f"{'-' if trips is None else f'{trips:.1f}':>16}"
                )
    print(
        "wall/(calls*lat) < 1: calls overlap; (wall-wall0)/lat: round trips on the critical path "
        f"(medians of {runs} runs; calls per run shown as a range when they vary)"
    )
    print("\ncalls per operation (latency 0, first run):")
    for (scenario, label), run in examples.items():
        print(f"  {scenario} {label} ({len(run.calls)}, {run.mutating} mutating): ", end="")
        print(per_operation(run.calls))
    trips = critical_paths(server, max(latencies + [200.0]))
    print(
        f"\ntargets: cold <= {TARGET_COLD_ROUND_TRIPS} round trips on the critical path; "
        "re-run 0 mutating"
    )
    for scenario in SCENARIOS:
        if (scenario, "cold") not in examples:
            continue
        cold_trips, rerun = trips[(scenario, "cold")], examples[(scenario, "re-run")]
        cold_ok = cold_trips <= TARGET_COLD_ROUND_TRIPS
        cold_calls, rerun_trips = (
            len(examples[(scenario, "cold")].calls),
            trips[(scenario, "re-run")],
        )
        print(
            f"  {scenario}: cold {cold_trips} round trips {'ok' if cold_ok else 'OVER'} "
            f"({cold_calls} calls); re-run {rerun_trips}"
            f" round trips, {rerun.reads} reads, {rerun.mutating} mutating "
            f"{'ok' if rerun.mutating == 0 else 'OVER'}"
        )


def critical_paths(
    server: MotoServer, latency_ms: float, runs: int = 3
) -> dict[tuple[str, str], int]:
    """Traced runs per scenario: the round trips one after the other, and what each holds. A
    call that starts after another ended counts as one round trip later, whether it waited for
    that answer or for the CPU (client creation on a busy machine), so the median of `runs`
    is shown, with the calls of the run that had it."""
    print(
        f"\ncritical path ({runs} traced runs at {latency_ms:.0f} ms per call, median shown; "
        "calls side by side on a line):"
    )
    medians: dict[tuple[str, str], int] = {}
    for scenario in SCENARIOS:
        traced: dict[str, list[tuple[list[list[str]], Run]]] = {"cold": [], "re-run": []}
        for _ in range(runs):
            prepare(server, scenario)
            for label in ("cold", "re-run"):
                trace = Trace()
                run = pipectl_in_process(server.url, latency_ms, trace)
                traced[label].append((trace.round_trips(), run))
        for label, results in traced.items():
            results.sort(key=lambda result: len(result[0]))
            groups, run = results[len(results) // 2]
            medians[(scenario, label)] = len(groups)
            counts = sorted(len(g) for g, _ in results)
            print(
                f"  {scenario} {label}: {len(groups)} round trips (of {runs} runs: "
                f"{', '.join(map(str, counts))}), {len(run.calls)} calls, {run.wall_s:.2f} s"
            )
            for number, group in enumerate(groups, 1):
                print(f"    {number:>2}. {', '.join(group)}")
    return medians


def bench_aws_cli(server: MotoServer, runs: int, latencies: list[float]) -> None:
    """Section 2: the console steps with the aws CLI vs pipectl up, each as new processes."""
    header = (
        f"{'latency':>7} {'aws CLI s':>9} {'aws calls':>9} {'pipectl s':>9} {'calls':>5} "
        f"{'pipectl/aws':>11}"
    )
    print(header)
    print("-" * len(header))
    for latency in latencies:
        cli_runs: list[Run] = []
        pipectl_runs: list[Run] = []
        for _ in range(runs):  # interleaved, so both see the same machine conditions
            prepare(server, SCENARIOS[0])
            cli_runs.append(aws_cli(server.url, latency))
            prepare(server, SCENARIOS[0])
            pipectl_runs.append(pipectl_process(server.url, latency))
        cli_wall = median([r.wall_s for r in cli_runs])
        pipectl_wall = median([r.wall_s for r in pipectl_runs])
        cli_calls = same_or_range([len(r.calls) for r in cli_runs])
        pipectl_calls = same_or_range([len(r.calls) for r in pipectl_runs])
        print(
            f"{latency:>5.0f}ms {cli_wall:>9.2f} {cli_calls:>9} "
            f"{pipectl_wall:>9.2f} {pipectl_calls:>5} "
            f"{pipectl_wall / cli_wall:>11.2f}"
        )
    print(
        f"medians of {runs} runs, cold, no role present (both create one); each tool as new "
        f"processes: {cli_runs[0].processes} `aws` invocations vs one `pipectl up`"
    )
    print(f"aws CLI calls: {per_operation(cli_runs[0].calls)}")


def child(url: str, latency_ms: float) -> None:
    """--child: one `pipectl up` in this fresh process; print the calls it made as JSON."""
    run = pipectl_in_process(url, latency_ms)
    print(json.dumps({"wall_s": run.wall_s, "calls": list(run.calls)}))


def parse_latencies(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median reported)")
    parser.add_argument("--latencies", default="0,100,200", help="injected ms per API call")
    parser.add_argument("--quick", action="store_true", help="2 runs, latencies 0 and 100 ms")
    parser.add_argument("--no-aws-cli", action="store_true", help="skip the aws CLI comparison")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-latency-ms", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    runs, latencies = args.runs, parse_latencies(args.latencies)
    if args.quick:
        runs, latencies = min(runs, 2), [x for x in latencies if x <= 100] or [0]
    with isolated():
        if args.child:
            child(args.child, args.child_latency_ms)
        else:
            run_sections(runs, latencies, aws_cli_too=not args.no_aws_cli)


@contextmanager
def isolated() -> Iterator[None]:
    """Benchmark environment (bench_env) and an empty working folder, so no ./pipectl.yaml or
    AWS profile from elsewhere changes what is measured."""
    env = bench_env()
    os.environ.clear()
    os.environ.update(env)
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as workdir:
        os.chdir(workdir)
        try:
            yield
        finally:
            os.chdir(previous)


def run_sections(runs: int, latencies: list[float], aws_cli_too: bool = True) -> None:
    with moto_server() as server:
        print(f"== 1. pipectl up against a moto server ({server.url}) ==")
        bench_pipectl(server, runs, latencies)
        if aws_cli_too:
            print("\n== 2. the same console steps with the aws CLI, same server ==")
            bench_aws_cli(server, runs, latencies)


if __name__ == "__main__":
    main()
