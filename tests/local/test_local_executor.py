"""The Docker-free Lambda executor, end to end on a started emulator, through plain boto3."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from pathlib import Path

import pytest
from emulator_helpers import REPORT, Aws, invoke, log_messages, make_zip, process_gone, wait_for

WRITER = """
import os
import time
import urllib.parse

import boto3


def lambda_handler(event, context):
    time.sleep(float(os.environ.get("DELAY_S", "0")))
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        bucket = record["s3"]["bucket"]["name"]
        table.put_item(Item={"file_name": key, "bucket": bucket, "status": "Processed"})
        print(f"processed s3://{bucket}/{key}")
    return {"processed": len(event["Records"])}
"""

ECHO = """
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    print("first line")
    logger.info("a log record")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "env": {k: os.environ.get(k) for k in (
            "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
            "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "GREETING",
        )},
    }
"""

RAISER = """
def helper():
    raise ValueError("the input was bad")


def lambda_handler(event, context):
    print("about to fail")
    helper()
"""

SLEEPER = """
import os
import subprocess
import time


def lambda_handler(event, context):
    child = subprocess.Popen(["sleep", "60"])
    with open(os.environ["PID_FILE"], "w") as fh:
        fh.write(f"{os.getpid()} {child.pid}")
    time.sleep(30)
"""

EXITER = "import sys\n\nlambda_handler = lambda event, context: sys.exit(3)\n"

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


def assert_framed(messages: list[str]) -> str:
    """One invocation's log, cold or warm: optional INIT lines, START, END then REPORT last,
    one request id. Returns it."""
    starts = [i for i, m in enumerate(messages) if m.startswith("START RequestId:")]
    assert len(starts) == 1, messages
    assert starts[0] == 0 or messages[0].startswith("INIT_START"), messages
    start = re.fullmatch(r"START RequestId: (\S+) Version: \$LATEST", messages[starts[0]])
    assert start, messages
    request_id = start.group(1)
    assert messages[-2] == f"END RequestId: {request_id}", messages
    report = REPORT.fullmatch(messages[-1])
    assert report and report.group("id") == request_id, messages
    return request_id


def test_s3_upload_runs_the_function_which_writes_the_item(aws: Aws) -> None:
    dynamodb, s3, lam, logs = (aws.client(s) for s in ("dynamodb", "s3", "lambda", "logs"))
    dynamodb.create_table(
        TableName="ProcessedResults",
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    logs.create_log_group(logGroupName="/aws/lambda/processor")
    function = aws.create_function(
        "processor", WRITER, env={"TABLE_NAME": "ProcessedResults", "DELAY_S": "1.5"}
    )
    s3.create_bucket(Bucket="input-bucket")
    lam.add_permission(
        FunctionName="processor",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::input-bucket",
    )
    s3.put_bucket_notification_configuration(
        Bucket="input-bucket",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": function["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )

    started = time.monotonic()
    s3.put_object(Bucket="input-bucket", Key="incoming/red flower é.txt", Body=b"hello")
    put_s = time.monotonic() - started
    # The function sleeps 1.5 s first: PutObject returning sooner shows the dispatch is async.
    assert put_s < 1.2, f"PutObject took {put_s:.2f} s: the S3 -> Lambda dispatch is not async"

    def item() -> dict | None:
        key = {"file_name": {"S": "incoming/red flower é.txt"}}
        return dynamodb.get_item(TableName="ProcessedResults", Key=key).get("Item")

    found = wait_for(item, what="the function's DynamoDB item")
    assert found["status"] == {"S": "Processed"} and found["bucket"] == {"S": "input-bucket"}

    group = "/aws/lambda/processor"
    streams = wait_for(
        lambda: logs.describe_log_streams(logGroupName=group)["logStreams"], what="a log stream"
    )
    assert len(streams) == 1 and STREAM_NAME.match(streams[0]["logStreamName"]), streams
    messages = log_messages(logs, group)
    assert_framed(messages)
    assert "processed s3://input-bucket/incoming/red flower é.txt" in messages


def test_invoke_returns_the_handler_value_and_context(aws: Aws) -> None:
    created = aws.create_function("echo", ECHO, env={"GREETING": "hi"})
    zipped = make_zip({"app.py": ECHO})
    # moto computes CodeSha256 as Lambda does: base64 of the zip's SHA-256.
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(zipped).digest()).decode()

    response, body, tail = invoke(aws, "echo", {"hello": "world"})

    assert "FunctionError" not in response
    assert body["event"] == {"hello": "world"}
    assert body["function_name"] == "echo" and body["memory"] == "128"
    assert 0 < body["remaining_ms"] <= 10_000
    assert body["arn"].startswith("arn:aws:lambda:us-east-1:") and ":function:echo" in body["arn"]
    assert body["log_group"] == "/aws/lambda/echo" and STREAM_NAME.match(body["log_stream"])
    assert body["env"] == {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "echo",
        "_HANDLER": "app.lambda_handler",
        "GREETING": "hi",
    }
    # The log: framed, print and logging output in order, the result not mixed into it.
    messages = log_messages(aws.client("logs"), "/aws/lambda/echo")
    assert assert_framed(messages) == body["request_id"]
    at = messages.index(f"START RequestId: {body['request_id']} Version: $LATEST")
    assert messages[at + 1] == "first line"
    timestamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    expected = rf"\[INFO\]\t{timestamp}\t{body['request_id']}\ta log record"
    assert re.fullmatch(expected, messages[at + 2]), messages
    assert len(messages) == at + 5
    assert tail.splitlines() == messages
    # The child's own peak memory (a bare interpreter: well under the emulator's ~100 MB).
    used_mb = int(re.search(r"Max Memory Used: (\d+) MB", messages[-1]).group(1))
    assert 5 < used_mb < 60, messages[-1]


def test_a_handler_exception_is_a_function_error_logged_like_lambda(aws: Aws) -> None:
    aws.create_function("raiser", RAISER)

    response, body, _ = invoke(aws, "raiser")

    assert response["FunctionError"]
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "the input was bad"
    assert any("in helper" in frame for frame in body["stackTrace"])
    assert not any("bootstrap.py" in frame for frame in body["stackTrace"])
    messages = log_messages(aws.client("logs"), "/aws/lambda/raiser")
    assert_framed(messages)
    at = messages.index("[ERROR] ValueError: the input was bad")
    assert messages[at - 1] == "about to fail"
    assert messages[at + 1] == "Traceback (most recent call last):"
    assert 'raise ValueError("the input was bad")' in "\n".join(messages[at + 2 :])


def test_a_function_past_its_timeout_is_killed(aws: Aws, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    aws.create_function("sleeper", SLEEPER, timeout_s=1, env={"PID_FILE": str(pid_file)})

    started = time.monotonic()
    response, body, _ = invoke(aws, "sleeper")
    elapsed = time.monotonic() - started

    assert elapsed < 10, f"the invocation took {elapsed:.1f} s despite a 1 s timeout"
    assert response["FunctionError"] and body["errorType"] == "Sandbox.Timedout"
    messages = log_messages(aws.client("logs"), "/aws/lambda/sleeper")
    request_id = assert_framed(messages)
    assert any(
        re.fullmatch(rf"\S+Z {request_id} Task timed out after 1\.00 seconds", m) for m in messages
    ), messages
    handler_pid, grandchild_pid = map(int, pid_file.read_text().split())
    wait_for(lambda: process_gone(handler_pid), 5, "the handler process to be gone")
    wait_for(lambda: process_gone(grandchild_pid), 5, "the handler's own child to be gone")


def test_two_functions_never_mix_their_logs(aws: Aws) -> None:
    source = """
import os

def lambda_handler(event, context):
    for i in range(20):
        print(os.environ["AWS_LAMBDA_FUNCTION_NAME"], i)
"""
    for name in ("mix-a", "mix-b"):
        aws.create_function(name, source)
    calls = [threading.Thread(target=invoke, args=(aws, n)) for n in ("mix-a", "mix-b") * 2]
    for call in calls:
        call.start()
    for call in calls:
        call.join()

    logs = aws.client("logs")
    for name in ("mix-a", "mix-b"):
        group = f"/aws/lambda/{name}"
        # One stream per execution environment: two when both calls overlapped, else one.
        assert len(logs.describe_log_streams(logGroupName=group)["logStreams"]) in (1, 2)
        printed = [m for m in log_messages(logs, group) if m.startswith("mix-")]
        assert printed and all(m.startswith(f"{name} ") for m in printed), printed
        assert len(printed) == 40


@pytest.mark.parametrize(
    ("runtime", "source", "error_type"),
    [
        ("python3.12", EXITER, "Runtime.ExitError"),
        ("python3.12", "import no_such_module\n", "Runtime.ImportModuleError"),
        ("python3.12", "x = 1\n", "Runtime.HandlerNotFound"),
        ("nodejs20.x", "", "UnsupportedRuntime"),
    ],
    ids=["sys.exit", "import-error", "no-handler", "nodejs"],
)
def test_functions_that_cannot_run_report_why(
    aws: Aws, runtime: str, source: str, error_type: str
) -> None:
    name = f"broken-{error_type.replace('.', '-').lower()}"
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=aws.role_arn(),
        Handler="app.lambda_handler",
        Code={"ZipFile": make_zip({"app.py": source})},
    )

    response, body, _ = invoke(aws, name)

    assert response["FunctionError"] and body["errorType"] == error_type, body
    messages = log_messages(aws.client("logs"), f"/aws/lambda/{name}")
    assert_framed(messages)
