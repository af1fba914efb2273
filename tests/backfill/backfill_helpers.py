"""Helpers for the backfill tests (a module of its own: `conftest` is not a unique name to import
from when other test directories have one too)."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote_plus

import boto3

BUCKET = "serverless-data-input-123456789012-us-east-1"
TABLE = "ProcessedResults"
FUNCTION = "serverless-data-processor"
ACCOUNT = "123456789012"


class FakeLambda:
    """Stands in for Lambda's asynchronous Invoke on in-process moto (which would need Docker to
    run a function): a botocore `before-call` handler that records each event and answers 202,
    as Lambda does once it has queued an event. With `process=True` it also writes an item per
    record (the key only), as the function would, so that a re-run sees what was processed."""

    def __init__(self, process: bool = False) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self.sizes: list[int] = []
        self.invocation_types: list[str] = []
        self.lock = threading.Lock()

    def hook(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self.before_call)

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        if f"{model.service_model.service_name}.{model.name}" != "lambda.Invoke":
            return None
        from botocore.awsrequest import AWSResponse

        body = params["body"]
        event = json.loads(body)
        with self.lock:
            self.events.append(event)
            self.sizes.append(len(body))
            self.invocation_types.append(params["headers"].get("X-Amz-Invocation-Type", ""))
        if self.process:
            write_items([unquote_plus(r["s3"]["object"]["key"]) for r in event["Records"]])
        return AWSResponse("https://lambda.invalid", 202, {}, None), {
            "StatusCode": 202,
            "ResponseMetadata": {"HTTPStatusCode": 202},
        }

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for event in self.events for record in event["Records"]]

    @property
    def keys(self) -> list[str]:
        return [unquote_plus(r["s3"]["object"]["key"]) for r in self.records]


def make_table_and_function() -> None:
    """The table and the function as `up` makes them (a placeholder handler: moto never runs it
    here, FakeLambda answers the Invoke calls)."""
    import io
    import zipfile

    from pipectl.resources.role import TRUST_POLICY

    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def write_items(keys: list[str]) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    for key in keys:
        dynamodb.put_item(TableName=TABLE, Item={"file_name": {"S": key}})


def put_objects(keys: list[str], bucket: str = BUCKET, body: bytes = b"data") -> None:
    """Objects straight into moto's S3 backend: thousands in a second, where PutObject through
    boto3 takes a few milliseconds each (what is tested is listing them, not uploading)."""
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT]["global"]
    for key in keys:
        backend.put_object(bucket, key, body)


def small_pages(max_keys: int):
    """A client hook that makes every S3 listing page hold at most `max_keys` entries (as if the
    bucket were much bigger), by setting MaxKeys on each request the paginator sends. Requests
    with a Delimiter (how backfill splits a prefix into parts to list side by side) keep S3's
    1,000, so that the split still happens in a small test bucket."""

    def set_max_keys(params: dict[str, Any], **_: Any) -> None:
        if "Delimiter" not in params:
            params["MaxKeys"] = max_keys

    def hook(client: Any) -> None:
        client.meta.events.register("before-parameter-build.s3.ListObjectsV2", set_max_keys)
        client.meta.events.register("before-parameter-build.s3.ListObjectVersions", set_max_keys)

    return hook


def document(result: Any) -> dict[str, Any]:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)
