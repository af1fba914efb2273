"""A no-change `pipectl up` against AWS Chalice's re-deploy of the same function and trigger,
each on its own moto server, with and without injected per-call latency.

    python benchmarks/bench_chalice.py [--runs 5] [--latencies 0,100] [--keep-venv DIR]

Plain script, not a test: figures are printed next to their targets, never asserted.

- Chalice 1.34.0 is installed by this script into a throwaway virtualenv under a temporary folder
  (never a project dependency), with Python 3.12 when `python3.12` is on PATH, so its function
  gets the same runtime as pipectl's (python3.12). `--keep-venv DIR` reuses/keeps one.
- Both start from the same account: an existing LabRole and an existing bucket. pipectl uses
  them through `role.mode: auto` and `bucket.name`; Chalice through `manage_iam_role: false`,
  `iam_role_arn` and `@app.on_s3_event(bucket=..., events=["s3:ObjectCreated:*"])`. Same handler
  code (pipectl's handler/app.py, which Chalice's function calls), memory and timeout.
- Both are new processes pointed at their server with AWS_ENDPOINT_URL. The same botocore client
  plugin (`benchmarks/aws_latency_plugin.py`, loaded by botocore's BOTOCORE_EXPERIMENTAL__PLUGINS
  in both processes) sleeps before every HTTP request and logs every API call.
- After one untimed first deploy each, the re-runs are interleaved (pipectl, chalice, pipectl,
  ...) so that the load of this shared machine hits both alike; medians and spread are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_up  # noqa: E402

CHALICE_VERSION = "1.34.0"
BUCKET = "pipectl-bench-input"
LAB_ROLE_ARN = "arn:aws:iam::123456789012:role/LabRole"
HANDLER = BENCH_DIR.parent / "handler" / "app.py"
PIPECTL = bench_up.BIN_DIR / "pipectl"
TARGETS = {0.0: 1.0, 100.0: 0.4}  # pipectl re-run / chalice re-deploy, per ms of latency
PLUGIN = "pipectl_bench=aws_latency_plugin"

CHALICE_APP = f'''\
from chalice import Chalice

app = Chalice(app_name="bench")


@app.on_s3_event(bucket="{BUCKET}", events=["s3:ObjectCreated:*"])
def processor(event):
    from chalicelib.handler_app import lambda_handler  # pipectl's handler; Lambda has boto3

    return lambda_handler(event.to_dict(), event.context)
'''
PIPECTL_CONFIG = f"""\
bucket:
  name: {BUCKET}
function:
  runtime: python3.12
  memory_mb: 128
  timeout_s: 30
"""


def chalice_config() -> dict:
    stage = {
        "manage_iam_role": False,
        "iam_role_arn": LAB_ROLE_ARN,
        "lambda_memory_size": 128,
        "lambda_timeout": 30,
        "environment_variables": {"TABLE_NAME": "ProcessedResults", "PARTITION_KEY": "file_name"},
    }
    return {"version": "2.0", "app_name": "bench", "stages": {"dev": stage}}


def install_chalice(venv: Path) -> Path:
    """chalice==1.34.0 in its own virtualenv (created when missing); returns its `chalice`."""
    chalice = venv / "bin" / "chalice"
    if chalice.exists():
        return chalice
    subprocess.run([python_312(), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"chalice=={CHALICE_VERSION}"],
        check=True,
        capture_output=True,
    )
    return chalice


def python_312() -> str:
    """python3.12 when it runs here (a version manager's shim may name one it cannot run: with
    pyenv, set PYENV_VERSION), else this interpreter."""
    python = shutil.which("python3.12")
    if python and subprocess.run([python, "-c", ""], capture_output=True).returncode == 0:
        return python
    return sys.executable


def prepare_account(server: bench_up.MotoServer) -> None:
    """An empty account with a LabRole and the input bucket, as in an AWS Academy lab."""
    import boto3

    server.reset()
    kwargs = {"endpoint_url": server.url, "region_name": bench_up.REGION}
    boto3.client("iam", **kwargs).create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(bench_up.TRUST)
    )
    boto3.client("s3", **kwargs).create_bucket(Bucket=BUCKET)


def make_projects(root: Path) -> tuple[Path, Path]:
    pipectl_dir = root / "pipectl-project"
    pipectl_dir.mkdir()
    (pipectl_dir / "pipectl.yaml").write_text(PIPECTL_CONFIG)
    chalice_dir = root / "chalice-project"
    (chalice_dir / ".chalice").mkdir(parents=True)
    (chalice_dir / "chalicelib").mkdir()
    (chalice_dir / "chalicelib" / "__init__.py").write_text("")
    shutil.copy(HANDLER, chalice_dir / "chalicelib" / "handler_app.py")
    (chalice_dir / "app.py").write_text(CHALICE_APP)
    (chalice_dir / "requirements.txt").write_text("")
    (chalice_dir / ".chalice" / "config.json").write_text(json.dumps(chalice_config(), indent=2))
    return pipectl_dir, chalice_dir


@dataclass(frozen=True)
class Run:
    wall_s: float
    calls: tuple[str, ...]
    cpu_s: float  # user + system time of the process itself

    @property
    def mutating(self) -> int:
        from pipectl.aws import is_read

        return sum(1 for c in self.calls if not is_read(c))


def timed(command: list[str], cwd: Path, url: str, latency_ms: float, log: Path) -> Run:
    """One process run with the latency plugin; its API calls read from the plugin's log."""
    log.unlink(missing_ok=True)
    env = bench_up.bench_env()
    env.update(
        AWS_ENDPOINT_URL=url,
        PYTHONPATH=str(BENCH_DIR),
        BOTOCORE_EXPERIMENTAL__PLUGINS=PLUGIN,
        PIPECTL_BENCH_LATENCY_MS=str(latency_ms),
        PIPECTL_BENCH_CALL_LOG=str(log),
        NO_COLOR="1",
    )
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            out.seek(0)
            output = out.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{command[0]} failed ({process.returncode}): {output}")
    calls = tuple(log.read_text().split()) if log.exists() else ()
    return Run(wall, calls, usage.ru_utime + usage.ru_stime)


@contextmanager
def servers() -> Iterator[tuple[bench_up.MotoServer, bench_up.MotoServer]]:
    with bench_up.moto_server() as for_pipectl, bench_up.moto_server() as for_chalice:
        yield for_pipectl, for_chalice


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def run(runs: int, latencies: list[float], venv: Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="pipectl-bench-chalice-") as tmp:
        root = Path(tmp)
        chalice = install_chalice(venv or root / "chalice-venv")
        pipectl_dir, chalice_dir = make_projects(root)
        log = root / "calls"
        with servers() as (pipectl_server, chalice_server):
            prepare_account(pipectl_server)
            prepare_account(chalice_server)
            up = [str(PIPECTL), "up"]
            deploy = [str(chalice), "deploy", "--stage", "dev"]
            first_up = timed(up, pipectl_dir, pipectl_server.url, 0, log)
            first_deploy = timed(deploy, chalice_dir, chalice_server.url, 0, log)
            print(
                f"first deploy (untimed setup): pipectl up {len(first_up.calls)} calls, "
                f"chalice deploy {len(first_deploy.calls)} calls"
            )
            header = (
                f"{'latency':>7}  {'pipectl up (re-run)':<24} {'calls':>5} {'mut':>3}  "
                f"{'chalice deploy (re-run)':<24} {'calls':>5} {'mut':>3}  {'ratio':>5}  target"
            )
            print(header)
            print("-" * len(header))
            for latency in latencies:
                ours: list[Run] = []
                theirs: list[Run] = []
                for _ in range(runs):
                    ours.append(timed(up, pipectl_dir, pipectl_server.url, latency, log))
                    theirs.append(timed(deploy, chalice_dir, chalice_server.url, latency, log))
                report(latency, ours, theirs)
            print(f"calls, pipectl re-run: {bench_up.per_operation(ours[-1].calls)}")
            print(f"calls, chalice re-deploy: {bench_up.per_operation(theirs[-1].calls)}")
    print(
        f"medians of {runs} interleaved runs each (min-max); ratio = pipectl median / chalice "
        "median; each run a new process on its own moto server"
    )


def report(latency: float, ours: list[Run], theirs: list[Run]) -> None:
    mine = statistics.median(r.wall_s for r in ours)
    other = statistics.median(r.wall_s for r in theirs)
    ratio = mine / other
    target = TARGETS.get(latency)
    verdict = "-" if target is None else f"<= {target:.2f} {'ok' if ratio <= target else 'OVER'}"
    mutating = bench_up.same_or_range([r.mutating for r in ours])
    cpu_mine = statistics.median(r.cpu_s for r in ours)
    cpu_other = statistics.median(r.cpu_s for r in theirs)
    print(
        f"{latency:>5.0f}ms  {spread([r.wall_s for r in ours]):<24} "
        f"{bench_up.same_or_range([len(r.calls) for r in ours]):>5} {mutating:>3}  "
        f"{spread([r.wall_s for r in theirs]):<24} "
        f"{bench_up.same_or_range([len(r.calls) for r in theirs]):>5} "
        f"{bench_up.same_or_range([r.mutating for r in theirs]):>3}  {ratio:>5.2f}  {verdict}"
    )
    print(
        f"{'':>7}  CPU (user+sys) of the process: pipectl {cpu_mine:.2f} s, chalice "
        f"{cpu_other:.2f} s, ratio {cpu_mine / cpu_other:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median reported)")
    parser.add_argument("--latencies", default="0,100", help="injected ms per API call")
    parser.add_argument("--keep-venv", type=Path, help="reuse (or create and keep) this venv")
    args = parser.parse_args(argv)
    with bench_up.isolated():
        run(args.runs, bench_up.parse_latencies(args.latencies), args.keep_venv)


if __name__ == "__main__":
    main()
