"""Upload-to-item latency on pipectl's embedded emulator, cold and warm.

    python benchmarks/emulator_latency.py [--uploads 10]

Starts an emulator (in a temporary PIPECTL_HOME, on a free port), deploys pipectl's bundled
handler behind a bucket (benchmarks/emulator_pipeline.py), then uploads objects one at a time.
For each upload it measures from just before PutObject to the moment GetItem first returns the
function's item (polled every 5 ms), and how long PutObject itself took. The first upload meets
a cold function (a new execution environment); the others a warm one. Target: warm median
<= 80 ms. Stops the emulator.
"""

from __future__ import annotations

import argparse
import statistics
import time

from emulator_pipeline import BUCKET, TABLE, Pipeline, started_pipeline

TARGET_WARM_MS = 80


def measure(pipeline: Pipeline, uploads: int) -> list[float]:
    s3, dynamodb = pipeline.client("s3"), pipeline.client("dynamodb")
    latencies = []
    for i in range(uploads):
        key = f"upload-{i}.txt"
        started = time.perf_counter()
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        put_s = time.perf_counter() - started
        while "Item" not in dynamodb.get_item(TableName=TABLE, Key={"file_name": {"S": key}}):
            if time.perf_counter() - started > 30:
                raise SystemExit(f"{key}: no item after 30 s")
            time.sleep(0.005)
        latency = time.perf_counter() - started
        latencies.append(latency)
        print(f"{key}: item after {latency * 1000:6.1f} ms (PutObject: {put_s * 1000:.1f} ms)")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=10)
    args = parser.parse_args()
    with started_pipeline() as pipeline:
        latencies = measure(pipeline, max(2, args.uploads))
        cold_starts = sum(m.startswith("INIT_START") for m in pipeline.log_messages())
    cold_ms, warm = latencies[0] * 1000, sorted(x * 1000 for x in latencies[1:])
    print(f"upload -> item, cold (first upload): {cold_ms:.0f} ms")
    print(
        f"upload -> item, warm: median {statistics.median(warm):.0f} ms (target <= "
        f"{TARGET_WARM_MS} ms), min {warm[0]:.0f} ms, max {warm[-1]:.0f} ms over {len(warm)} "
        f"uploads; {cold_starts} cold start(s) in the function's log"
    )


if __name__ == "__main__":
    main()
