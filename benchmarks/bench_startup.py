"""Start-up time: `pipectl --help` / `--version` (the installed console script and
`python -m pipectl`) against `aws --version`, as new processes, median wall time.

    python benchmarks/bench_startup.py [--runs 10]

The scripts are run from the interpreter's own bin directory, not through a version manager's
shims (pyenv's shim alone adds ~100 ms to every command), so the figures are the tools' own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN_DIR = Path(sys.executable).parent


def script(name: str) -> str:
    """The real console script next to this interpreter, else whatever PATH finds."""
    candidate = BIN_DIR / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name) or name


def commands() -> dict[str, list[str]]:
    return {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "pipectl --help": [script("pipectl"), "--help"],
        "pipectl --version": [script("pipectl"), "--version"],
        "python -m pipectl --help": [sys.executable, "-m", "pipectl", "--help"],
        "pipectl up --help": [script("pipectl"), "up", "--help"],
        "aws --version": [script("aws"), "--version"],
    }


TARGET_HELP_RATIO = 0.5  # issue 17: `pipectl --help` within half of `aws --version`


def time_command(command: list[str], runs: int) -> float:
    """Median seconds over `runs`, after one untimed run to warm the file cache."""
    env = dict(os.environ, NO_COLOR="1")
    subprocess.run(command, capture_output=True, env=env, check=True)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=True)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def run(runs: int) -> dict[str, float]:
    results = {label: time_command(command, runs) for label, command in commands().items()}
    aws = results["aws --version"]
    print(f"{'command':<26} {'median ms':>9} {'÷ aws --version':>15}")
    print("-" * 52)
    for label, seconds in results.items():
        print(f"{label:<26} {seconds * 1000:>9.0f} {seconds / aws:>15.2f}")
    print(f"medians of {runs} runs each, new process per run")
    ratio = results["pipectl --help"] / aws
    verdict = "met" if ratio <= TARGET_HELP_RATIO else "NOT MET"
    print(f"pipectl --help ÷ aws --version: {ratio:.2f} (target <= {TARGET_HELP_RATIO}: {verdict})")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="runs per command (median shown)")
    args = parser.parse_args(argv)
    run(args.runs)


if __name__ == "__main__":
    main()
