"""The pipeline the emulator benchmarks measure: pipectl's bundled handler (handler/app.py,
zipped by pipectl.build.packaging as `pipectl up` zips it) behind an S3 bucket, writing to a
DynamoDB
table, deployed with plain boto3 on a started emulator. A module, not a benchmark."""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from pipectl.build import packaging
from pipectl.local import server
from pipectl.resources.role import TRUST_POLICY

BUCKET = "bench-input"
TABLE = "ProcessedResults"
FUNCTION = "bench"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"


class Pipeline:
    """Clients for a started emulator, and the deployment."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )

    def client(self, name: str, **kwargs: Any) -> Any:
        return self.session.client(name, endpoint_url=self.endpoint_url, **kwargs)

    def deploy(self) -> None:
        self.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        role = self.client("iam").create_role(
            RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
        )
        function = self.client("lambda").create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="app.lambda_handler",
            Code={"ZipFile": packaging.build().zip_bytes},
            Timeout=30,
            Environment={"Variables": {"TABLE_NAME": TABLE, "PARTITION_KEY": "file_name"}},
        )
        self.client("lambda").add_permission(
            FunctionName=FUNCTION,
            StatementId="s3",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn=f"arn:aws:s3:::{BUCKET}",
        )
        self.client("s3").create_bucket(Bucket=BUCKET)
        self.client("s3").put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "LambdaFunctionConfigurations": [
                    {"LambdaFunctionArn": function["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )

    def log_messages(self) -> list[str]:
        """Every message of the function's log group (all streams)."""
        logs = self.client("logs")
        messages = []
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=LOG_GROUP):
            messages += [event["message"] for event in page["events"]]
        return messages

    def log_streams(self) -> int:
        logs = self.client("logs")
        return len(logs.describe_log_streams(logGroupName=LOG_GROUP)["logStreams"])


def free_port() -> int:
    """Not the default port 5050: a user's own emulator may want it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def started_pipeline() -> Iterator[Pipeline]:
    """A new emulator (its own PIPECTL_HOME, a free port) with the pipeline deployed."""
    with tempfile.TemporaryDirectory() as home:
        info, _ = server.start(port=free_port(), home=Path(home))
        try:
            pipeline = Pipeline(info.endpoint_url)
            pipeline.deploy()
            yield pipeline
        except BaseException:
            log = Path(info.log_file).read_text(errors="replace").splitlines()
            print("the emulator's log ends with:", *log[-20:], sep="\n")
            raise
        finally:
            server.stop(Path(home))
