"""CPU to make the seven clients a `pipectl up` uses, in a new process: botocore's own model
loader against pipectl.model_loader.

    python benchmarks/client_creation.py [--runs 9]

Each run is a new interpreter that imports botocore, makes a session (dummy credentials, one
region) and the clients for STS, S3, DynamoDB, IAM, Logs, SQS and Lambda, and prints the CPU
time (time.process_time) of the session and clients, not of the import. The two loaders run
alternately so that the machine's load hits both alike; medians and spread are printed. No
target: this shows what the loader buys, one part of the no-change `up` against Chalice.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

SERVICES = ("sts", "s3", "dynamodb", "iam", "logs", "sqs", "lambda")
PROGRAM = f"""
import sys, time
import botocore.session
start = time.process_time()
session = botocore.session.Session()
if sys.argv[1] == "pipectl":
    from pipectl import model_loader
    model_loader.install(session)
session.set_credentials("testing", "testing")
for service in {SERVICES!r}:
    session.create_client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
print(time.process_time() - start)
"""
LOADERS = ("botocore", "pipectl")


def one_run(loader: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, loader], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="runs per loader (median shown)")
    args = parser.parse_args(argv)
    seconds: dict[str, list[float]] = {loader: [] for loader in LOADERS}
    for _ in range(args.runs):
        for loader in LOADERS:
            seconds[loader].append(one_run(loader))
    for loader, values in seconds.items():
        print(
            f"{loader + ' loader':<16} seven clients: {1000 * statistics.median(values):4.0f} ms "
            f"of CPU ({1000 * min(values):.0f}-{1000 * max(values):.0f}), median of {args.runs}"
        )
    ratio = statistics.median(seconds["pipectl"]) / statistics.median(seconds["botocore"])
    print(f"pipectl's / botocore's: {ratio:.2f}")


if __name__ == "__main__":
    main()
