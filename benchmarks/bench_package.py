"""Building a deployment package with dependencies (needs the package index):

    python benchmarks/bench_package.py [--runs 5] [--requirements "requests==2.32.3 PyYAML==6.0.2"]

- cold: pip resolves, downloads (pip's own HTTP cache helps after the first run) and installs
  for Lambda python3.12 arm64, then the dependencies are cleaned and zipped; a fresh pipectl
  cache each run;
- warm: what every later `up` / `status` pays: the cached dependency zip copied and the handler's
  files added to it (no pip).

Target: a warm build costs well under a second, so re-runs of `up` stay fast (its other figures
are in bench_up.py); a cold build is dominated by pip and the network.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pipectl.build import packaging
from pipectl.build.platforms import lambda_platform

WARM_TARGET_S = 0.5


def handler(folder: Path, requirements: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    return folder


def timed(call) -> tuple[float, packaging.Package]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requirements", default="requests==2.32.3 PyYAML==6.0.2")
    args = parser.parse_args()
    platform = lambda_platform("python3.12", "arm64")
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as scratch:
        source = handler(Path(scratch, "src"), args.requirements.split())
        for run in range(args.runs):
            cache = Path(scratch, f"cache-{run}")
            seconds, built = timed(lambda c=cache: packaging.build(str(source), platform, c))
            cold.append(seconds)
            for _ in range(5):
                seconds, again = timed(lambda c=cache: packaging.build(str(source), platform, c))
                assert again.sha256 == built.sha256, "a warm build differs from the cold one"
                warm.append(seconds)
    print(f"requirements: {args.requirements}  ({platform.label})")
    print(f"package: {len(built.zip_bytes) / 1e6:.2f} MB zipped, "
          f"{built.unzipped_bytes / 1e6:.2f} MB unzipped, {len(built.files)} files, "
          f"{len(built.packages)} packages")  # fmt: skip
    print(f"{'build':<6} {'median s':>9} {'max s':>7}  target")
    print(f"{'cold':<6} {statistics.median(cold):>9.2f} {max(cold):>7.2f}  (pip + network)")
    print(f"{'warm':<6} {statistics.median(warm):>9.3f} {max(warm):>7.3f}  < {WARM_TARGET_S} s")


if __name__ == "__main__":
    main()
