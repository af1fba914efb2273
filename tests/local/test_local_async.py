"""Asynchronous invocations on a started emulator: Invoke with InvocationType=Event, retries,
event age, and the invocation records sent to destinations, checked against Lambda's documented
format (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator_helpers import Aws, invocations, log_messages, wait_for

RETRY_DELAY_S = 0.2

FAILING = """
import time


def lambda_handler(event, context):
    print("attempt for", event.get("id"))
    time.sleep(event.get("sleep", 0))
    raise RuntimeError(f"boom {event.get('id')}")
"""

SUCCEEDING = """
import time


def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    records = event.get("Records", [])
    print("records", len(records))
    return {"id": event.get("id"), "records": len(records)}
"""


@pytest.fixture(scope="module")
def emulator_env() -> dict[str, str]:
    return {"PIPECTL_LOCAL_RETRY_DELAY_S": str(RETRY_DELAY_S)}


def make_queue(aws: Aws, name: str) -> tuple[str, str]:
    """(queue URL, queue ARN) of a new queue."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def configure(aws: Aws, name: str, validate: bool = True, **config: Any) -> None:
    """PutFunctionEventInvokeConfig; without client-side validation, values AWS refuses (an
    event age under 60 s) reach the emulator, which takes them to keep the tests short."""
    client = aws.client("lambda", config=Config(parameter_validation=validate))
    client.put_function_event_invoke_config(FunctionName=name, **config)


def send(aws: Aws, name: str, event: dict[str, Any]) -> dict[str, Any]:
    return aws.client("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode()
    )


def records(aws: Aws, url: str, expected: int, timeout_s: float = 20) -> list[dict[str, Any]]:
    """The queue's messages as JSON, once `expected` have arrived; then checks no more do."""
    sqs = aws.client("sqs")
    found: list[dict[str, Any]] = []

    def receive() -> bool:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        found.extend(json.loads(message["Body"]) for message in messages)
        return len(found) >= expected

    wait_for(receive, timeout_s, f"{expected} record(s) on {url}")
    time.sleep(2 * RETRY_DELAY_S)
    receive()
    assert len(found) == expected, found
    return found


def starts(aws: Aws, name: str) -> list[tuple[str, int]]:
    """(request id, START time in ms) of every invocation of the function."""
    return [
        (i.request_id, i.started_ms) for i in invocations(aws.client("logs"), f"/aws/lambda/{name}")
    ]


def test_an_event_invoke_returns_202_at_once_and_runs_in_the_background(aws: Aws) -> None:
    aws.create_function("background", SUCCEEDING)

    started = time.monotonic()
    response = send(aws, "background", {"sleep": 1.5, "id": "bg"})
    elapsed = time.monotonic() - started

    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    assert elapsed < 1.0, f"Invoke took {elapsed:.2f} s: an Event invocation ran synchronously"
    logs = aws.client("logs")
    wait_for(lambda: invocations(logs, "/aws/lambda/background"), 20, "the invocation's REPORT")


def test_a_failing_event_is_retried_then_recorded_on_the_failure_queue(aws: Aws) -> None:
    """No MaximumRetryAttempts in the config: AWS's default, 2 retries, 3 attempts."""
    aws.create_function("failing", FAILING)
    url, arn = make_queue(aws, "failing-failures")
    configure(aws, "failing", DestinationConfig={"OnFailure": {"Destination": arn}})
    event = {"id": "e-1", "nested": {"list": [1, 2, 3]}}

    assert send(aws, "failing", event)["StatusCode"] == 202

    (record,) = records(aws, url, 1)
    attempts = starts(aws, "failing")
    assert len(attempts) == 3 and len({request_id for request_id, _ in attempts}) == 1
    request_id = attempts[0][0]
    # Each retry waits: the retry delay, then twice that (AWS: about 1, then 2 minutes).
    gaps = [b - a for (_, a), (_, b) in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= RETRY_DELAY_S * 1000 and gaps[1] >= 2 * RETRY_DELAY_S * 1000, gaps
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"]), record
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:failing:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == event
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "boom e-1"
    assert set(record) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }


def test_no_retries_means_one_attempt(aws: Aws) -> None:
    aws.create_function("once", FAILING)
    url, arn = make_queue(aws, "once-failures")
    configure(
        aws,
        "once",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )

    send(aws, "once", {"id": "e-2"})

    (record,) = records(aws, url, 1)
    assert len(starts(aws, "once")) == 1
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestContext"]["condition"] == "RetriesExhausted"


def test_a_timed_out_event_is_retried_then_recorded(aws: Aws) -> None:
    """A timeout fails an attempt as a raise does: retried, then the record names the timeout
    (responsePayload errorType Sandbox.Timedout, as Lambda reports it)."""
    aws.create_function("slow", FAILING, timeout_s=1)
    url, arn = make_queue(aws, "slow-failures")
    configure(
        aws,
        "slow",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )

    send(aws, "slow", {"id": "e-slow", "sleep": 5})

    (record,) = records(aws, url, 1)
    attempts = starts(aws, "slow")
    assert len(attempts) == 2 and len({request_id for request_id, _ in attempts}) == 1
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in record["responsePayload"]["errorMessage"]


def test_an_event_past_its_maximum_age_is_not_retried(aws: Aws) -> None:
    """Maximum age 1 s; the first attempt takes 1.2 s, so the retry would be too late."""
    aws.create_function("aging", FAILING)
    url, arn = make_queue(aws, "aging-failures")
    configure(
        aws,
        "aging",
        validate=False,
        MaximumRetryAttempts=2,
        MaximumEventAgeInSeconds=1,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )

    send(aws, "aging", {"id": "e-3", "sleep": 1.2})

    (record,) = records(aws, url, 1)
    assert len(starts(aws, "aging")) == 1
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorMessage"] == "boom e-3"


def test_a_success_goes_to_the_on_success_destination(aws: Aws) -> None:
    aws.create_function("succeeding", SUCCEEDING)
    url, arn = make_queue(aws, "succeeding-successes")
    configure(aws, "succeeding", DestinationConfig={"OnSuccess": {"Destination": arn}})

    send(aws, "succeeding", {"id": "e-4"})

    (record,) = records(aws, url, 1)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"id": "e-4", "records": 0}


def test_reserved_concurrency_zero_sends_events_to_the_destination_unrun(aws: Aws) -> None:
    """Documented: with reserved concurrency 0, events go to the on-failure destination at once,
    without retries."""
    aws.create_function("disabled", FAILING)
    aws.client("lambda").put_function_concurrency(
        FunctionName="disabled", ReservedConcurrentExecutions=0
    )
    url, arn = make_queue(aws, "disabled-failures")
    configure(aws, "disabled", DestinationConfig={"OnFailure": {"Destination": arn}})

    send(aws, "disabled", {"id": "e-5"})

    (record,) = records(aws, url, 1)
    assert starts(aws, "disabled") == []
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"] == {"id": "e-5"}
    assert "responseContext" not in record and "responsePayload" not in record


def test_a_lambda_destination_receives_the_record_as_its_event(aws: Aws) -> None:
    aws.create_function("source", FAILING)
    target = aws.create_function("collector", SUCCEEDING)
    configure(
        aws,
        "source",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": target["FunctionArn"]}},
    )

    send(aws, "source", {"id": "e-6"})

    logs = aws.client("logs")
    wait_for(lambda: invocations(logs, "/aws/lambda/collector"), 20, "the collector's invocation")
    assert "records 0" in log_messages(logs, "/aws/lambda/collector")


def test_an_unsupported_destination_is_logged_not_dropped_silently(aws: Aws) -> None:
    aws.create_function("to-sns", FAILING)
    topic = "arn:aws:sns:us-east-1:123456789012:failures"
    configure(
        aws,
        "to-sns",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": topic}},
    )

    send(aws, "to-sns", {"id": "e-7"})

    logs = aws.client("logs")
    line = wait_for(
        lambda: [m for m in log_messages(logs, "/aws/lambda/to-sns") if "did not reach" in m],
        20,
        "the delivery failure line",
    )
    assert f"did not reach {topic}: sns destinations are not supported locally" in line[0]


def test_payload_limits_are_lambdas(aws: Aws) -> None:
    """1 MB for Event, 6 MB for RequestResponse (API_Invoke); a backfill-sized event of 1,000
    S3 records fits in an Event invocation."""
    aws.create_function("limits", SUCCEEDING)
    lam = aws.client("lambda")
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "b" * 40}, "object": {"key": "k" * 200, "size": 1}},
    }
    big_event = {"Records": [record] * 1000}
    assert 300_000 < len(json.dumps(big_event)) < 1_048_576

    assert send(aws, "limits", big_event)["StatusCode"] == 202
    with pytest.raises(ClientError) as too_big_async:
        send(aws, "limits", {"pad": "x" * 1_048_576})
    with pytest.raises(ClientError) as too_big_sync:
        lam.invoke(FunctionName="limits", Payload=json.dumps({"pad": "x" * 6_291_456}).encode())

    for raised in (too_big_async, too_big_sync):
        assert raised.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "(limit 1048576 bytes)" in str(too_big_async.value)
    assert "smaller than 6291456 bytes" in str(too_big_sync.value)
    logs = aws.client("logs")
    wait_for(lambda: invocations(logs, "/aws/lambda/limits"), 20, "the big event's invocation")
    assert "records 1000" in log_messages(logs, "/aws/lambda/limits")
