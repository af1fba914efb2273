"""500 uploads in a burst through pipectl's embedded emulator: how long until every item exists.

    python benchmarks/emulator_burst.py [--uploads 500] [--senders 8]

Starts an emulator (in a temporary PIPECTL_HOME, on a free port; PIPECTL_LOCAL_CONCURRENCY as
set in the environment, else the default), deploys pipectl's bundled handler behind a bucket
(benchmarks/emulator_pipeline.py), then `--senders` threads upload `--uploads` objects as fast as
PutObject answers. The function starts cold. Measured from the first PutObject to the moment a
Scan counts every item (polled every 0.1 s). Target on a 2-CPU machine: all 500 within 15 s.
Also reported: how many execution environments ran (log streams) and cold starts (INIT_START).
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.config import Config
from emulator_pipeline import BUCKET, TABLE, Pipeline, started_pipeline

TARGET_S = 15.0


def burst(pipeline: Pipeline, uploads: int, senders: int) -> tuple[float, float]:
    """(seconds until every PutObject returned, seconds until every item existed)."""
    s3 = pipeline.client("s3", config=Config(max_pool_connections=senders))
    dynamodb = pipeline.client("dynamodb")
    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(
            pool.map(
                lambda i: s3.put_object(Bucket=BUCKET, Key=f"burst/{i:05d}.csv", Body=b"x"),
                range(uploads),
            )
        )
    sent_s = time.perf_counter() - started
    while True:
        count = sum(
            page["Count"]
            for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE, Select="COUNT")
        )
        if count >= uploads:
            return sent_s, time.perf_counter() - started
        if time.perf_counter() - started > 300:
            raise SystemExit(f"only {count} of {uploads} items after 300 s")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=500)
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    with started_pipeline() as pipeline:
        sent_s, done_s = burst(pipeline, args.uploads, args.senders)
        messages = pipeline.log_messages()
        streams = pipeline.log_streams()
    reports = sum(m.startswith("REPORT") for m in messages)
    cold = sum(m.startswith("INIT_START") for m in messages)
    concurrency = os.environ.get("PIPECTL_LOCAL_CONCURRENCY", "default")
    print(
        f"{args.uploads} uploads from {args.senders} threads: sent in {sent_s:.1f} s, every item "
        f"written after {done_s:.1f} s (target <= {TARGET_S:.0f} s), "
        f"{args.uploads / done_s:.0f} uploads/s"
    )
    print(
        f"  {reports} invocations in {streams} execution environments ({cold} cold starts), "
        f"PIPECTL_LOCAL_CONCURRENCY={concurrency}, {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
