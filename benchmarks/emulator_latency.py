"""Upload-to-item latency on pipectl's embedded emulator.

    python benchmarks/emulator_latency.py [--uploads 10]

Starts an emulator (in a temporary PIPECTL_HOME, on a free port), deploys a bucket -> function ->
table pipeline with plain boto3, then uploads objects one at a time. For each upload it measures
from just before PutObject to the moment GetItem first returns the function's item (polled every
5 ms), and how long PutObject itself took. Prints each upload and the median. Stops the emulator.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3

from pipectl.local import server
from pipectl.resources.role import TRUST_POLICY

HANDLER = """
import os
import urllib.parse

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def lambda_handler(event, context):
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        TABLE.put_item(Item={"file_name": key, "status": "Processed"})
"""


def deploy(session: boto3.session.Session, endpoint_url: str) -> None:
    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint_url)

    client("dynamodb").create_table(
        TableName="ProcessedResults",
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    role = client("iam").create_role(
        RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", HANDLER)
    function = client("lambda").create_function(
        FunctionName="bench",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Timeout=30,
        Environment={"Variables": {"TABLE_NAME": "ProcessedResults"}},
    )
    client("lambda").add_permission(
        FunctionName="bench",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::bench-input",
    )
    client("s3").create_bucket(Bucket="bench-input")
    client("s3").put_bucket_notification_configuration(
        Bucket="bench-input",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": function["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )


def measure(session: boto3.session.Session, endpoint_url: str, uploads: int) -> list[float]:
    s3 = session.client("s3", endpoint_url=endpoint_url)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    latencies = []
    for i in range(uploads):
        key = f"upload-{i}.txt"
        started = time.perf_counter()
        s3.put_object(Bucket="bench-input", Key=key, Body=b"x")
        put_s = time.perf_counter() - started
        while "Item" not in dynamodb.get_item(
            TableName="ProcessedResults", Key={"file_name": {"S": key}}
        ):
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
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    with tempfile.TemporaryDirectory() as home:
        info, _ = server.start(port=None, home=Path(home))
        try:
            deploy(session, info.endpoint_url)
            latencies = measure(session, info.endpoint_url, args.uploads)
        finally:
            server.stop(Path(home))
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"upload -> item: median {statistics.median(ms):.0f} ms, "
        f"min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms over {len(ms)} uploads"
    )


if __name__ == "__main__":
    main()
