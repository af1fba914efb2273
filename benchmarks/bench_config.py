"""What a run spends before its first request, in CPU time: importing the CLI, loading and
checking a pipectl.yaml, converting `up`'s options; and whether pydantic got imported.

    python benchmarks/bench_config.py [--runs 7]

Each run is a new process (imports are what is measured); medians are printed. Plain script,
nothing asserted. Run it with PYTHONPATH pointing at another checkout to compare two versions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """
import sys, time
t0 = time.process_time()
import pipectl.cli as cli
t1 = time.process_time()
from pipectl.config.model import find_config_file, load_spec
load_spec(find_config_file(None))
t2 = time.process_time()
import typer
command = typer.main.get_command(cli.app)
getattr(cli, "without_pydantic", lambda c: c)(command)
command.commands["up"].make_context("up", ["--dry-run"])
t3 = time.process_time()
print(t1 - t0, t2 - t1, t3 - t2, "pydantic" in sys.modules)
"""
CONFIG = "bucket:\n  name: my-input-bucket\nfunction:\n  memory_mb: 256\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="processes (median reported)")
    args = parser.parse_args(argv)
    samples = []
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pipectl.yaml").write_text(CONFIG)
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, "-c", PROBE], cwd=folder, capture_output=True, text=True
            )
            if out.returncode != 0:
                raise SystemExit(out.stderr[-2000:])
            *times, pydantic = out.stdout.split()
            samples.append([float(t) * 1000 for t in times] + [pydantic == "True"])
    labels = ("import the CLI", "load + check pipectl.yaml", "convert up's options")
    for index, label in enumerate(labels):
        print(f"{label:<28} {statistics.median(s[index] for s in samples):>6.0f} ms CPU")
    print(f"pydantic imported: {'yes' if samples[0][3] else 'no'} (medians of {args.runs} runs)")


if __name__ == "__main__":
    main()
