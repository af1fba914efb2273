"""`pipectl replay` against the shared moto server, through the real CLI.

moto cannot run a function in-process, so `FakeLambda` answers `lambda.Invoke` the way Lambda does
through a botocore `before-call` hook: status 200, with `FunctionError: Unhandled` and an error
payload when the function failed. The failed events are put into the queue by hand, in the record
format Lambda documents (tests/invocation_record_samples.py).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from invocation_record_samples import body, on_failure_record, s3_event

from pipectl.context import Deadlines

FUNCTION = "serverless-data-processor"
QUEUE = f"{FUNCTION}-failures"
TABLE = "ProcessedResults"


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


class FakeLambda:
    """Answers Invoke like Lambda: `run(event)` returns the function's result, or raises to make
    the invocation fail with that error (FunctionError Unhandled, {"errorType", "errorMessage"})."""

    def __init__(self) -> None:
        self.invoked: list[tuple[str, Any]] = []  # (InvocationType, event)
        self.run: Callable[[Any], Any] = lambda event: {"processed": 1, "skipped": 0, "failed": 0}

    def hook(self, aws_client) -> None:
        aws_client.meta.events.register("before-call.lambda.Invoke", self._invoke)

    def _invoke(self, params, **_):
        event = json.loads(params["body"])
        self.invoked.append((params["headers"]["X-Amz-Invocation-Type"], event))
        parsed: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        try:
            payload = self.run(event)
        except Exception as exc:
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            parsed["FunctionError"] = "Unhandled"
        data = json.dumps(payload).encode()
        parsed["Payload"] = StreamingBody(io.BytesIO(data), len(data))
        return AWSResponse("https://lambda.invalid", 200, {}, None), parsed

    def keys(self) -> list[str]:
        return [event["Records"][0]["s3"]["object"]["key"] for _, event in self.invoked]


def failing_for(*keys: str) -> Callable[[Any], Any]:
    def run(event: Any) -> Any:
        key = event["Records"][0]["s3"]["object"]["key"]
        if key in keys:
            raise ValueError(f"still cannot parse {key}")
        return {"processed": 1, "skipped": 0, "failed": 0}

    return run


@pytest.fixture
def lam(runtime) -> FakeLambda:
    fake = FakeLambda()
    runtime.hooks.append(fake.hook)
    runtime.timing.deadlines = Deadlines(queue_long_poll=0)  # moto would wait the full second
    return fake


@pytest.fixture
def deployed(cli, moto_url, lam) -> str:
    result = cli("up", "--endpoint-url", moto_url, "--json")
    assert result.exit_code == 0, result.stderr
    return moto_url


def queue_url(url: str) -> str:
    return client("sqs", url).get_queue_url(QueueName=QUEUE)["QueueUrl"]


def put(url: str, *bodies: str) -> None:
    sqs = client("sqs", url)
    for text in bodies:
        sqs.send_message(QueueUrl=queue_url(url), MessageBody=text)


def counts(url: str) -> tuple[int, int]:
    """(visible, in flight) messages in the queue."""
    attributes = client("sqs", url).get_queue_attributes(
        QueueUrl=queue_url(url),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def replay(cli, url: str, *extra: str):
    result = cli("replay", "--endpoint-url", url, "--json", *extra)
    assert result.stdout.strip(), result.stderr
    return result, json.loads(result.stdout)


def by_key(doc) -> dict[str, dict]:
    return {event["keys"][0]: event for event in doc["events"] if event["keys"]}


# replaying -----------------------------------------------------------------------------------


def test_replays_with_the_original_event_and_keeps_what_fails_again(cli, deployed, lam):
    put(deployed, body("a.csv"), body("b b.csv"), body("c.csv"))
    lam.run = failing_for("b+b.csv")
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 1, result.stderr
    assert {k: doc[k] for k in ("ok", "messages", "replayed", "failed", "remaining")} == {
        "ok": False,
        "messages": 3,
        "replayed": 2,
        "failed": 1,
        "remaining": 1,
    }
    expected = [("RequestResponse", s3_event(key)) for key in ("a.csv", "b b.csv", "c.csv")]
    assert sorted(lam.invoked, key=json.dumps) == sorted(expected, key=json.dumps)
    failed = by_key(doc)["b b.csv"]
    assert failed["outcome"] == "failed"
    assert failed["replay_error"] == "ValueError: still cannot parse b+b.csv"
    assert failed["error_type"] == "RecordsFailedError"  # what made Lambda give up, kept apart
    assert by_key(doc)["a.csv"]["outcome"] == "replayed"
    assert counts(deployed) == (1, 0)  # the failed one stays, visible again at once
    [left] = client("sqs", deployed).receive_message(QueueUrl=queue_url(deployed))["Messages"]
    assert left["Body"] == body("b b.csv")


def test_once_fixed_a_second_replay_empties_the_queue_and_a_third_finds_nothing(cli, deployed, lam):
    put(deployed, body("a.csv"), body("b.csv"))
    lam.run = failing_for("b.csv")
    assert replay(cli, deployed, "--yes")[0].exit_code == 1
    lam.run = failing_for()
    lam.invoked.clear()
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 0, result.stderr
    assert (doc["replayed"], doc["failed"], doc["remaining"]) == (1, 0, 0)
    assert lam.keys() == ["b.csv"]
    assert counts(deployed) == (0, 0)
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 0 and doc["messages"] == 0 and doc["ok"] is True


def test_human_output_shows_keys_errors_attempts_and_when(cli, deployed, lam):
    put(deployed, body("a.csv"), body("b.csv", error_type="KeyError", error_message="'size'"))
    lam.run = failing_for("b.csv")
    result = cli("replay", "--endpoint-url", deployed, "--yes")
    assert result.exit_code == 1
    assert result.stdout == ""
    err = result.stderr
    assert "✓ replayed" in err and "a.csv" in err
    assert "✗ failed again" in err
    assert "was: KeyError: 'size'  RetriesExhausted, 3 attempts, 2026-11-28T12:03:05.568Z" in err
    assert "now: ValueError: still cannot parse b.csv" in err
    assert "1 replayed, 1 failed again; 1 left in the queue" in err
    assert "fix the handler, `pipectl up`, then `pipectl replay` again" in err


def test_messages_that_are_not_records_are_reported_and_left_alone(cli, deployed, lam):
    dead_letter = json.dumps(s3_event("from-a-dlq.csv"))
    put(deployed, "hello", dead_letter, body("a.csv"))
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 0, result.stderr  # nothing failed
    assert (doc["messages"], doc["replayed"], doc["foreign"], doc["remaining"]) == (3, 1, 2, 2)
    problems = sorted(e["problem"] for e in doc["events"] if e["outcome"] == "foreign")
    assert problems == [
        "a bare event, not an invocation record (a dead-letter message?)",
        "not JSON",
    ]
    assert lam.keys() == ["a.csv"]
    assert counts(deployed) == (2, 0)
    err = cli("replay", "--endpoint-url", deployed, "--yes").stderr
    assert "? not a record" in err and "not JSON (left in the queue)" in err


def test_dry_run_lists_and_leaves_every_message_visible(cli, deployed, lam):
    put(deployed, body("a.csv"), body("b.csv"), "not a record")
    result, doc = replay(cli, deployed, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert doc["dry_run"] is True
    assert sorted(e["outcome"] for e in doc["events"]) == ["foreign", "listed", "listed"]
    assert (doc["messages"], doc["replayed"], doc["remaining"]) == (3, 0, 3)
    assert lam.invoked == []
    assert counts(deployed) == (3, 0)
    err = cli("replay", "--endpoint-url", deployed, "--dry-run").stderr
    assert "· failed" in err and "dry run: nothing was replayed" in err


def test_max_reads_at_most_n_messages_over_several_batches(cli, deployed, lam):
    put(deployed, *(body(f"k{n:02}.csv") for n in range(13)))
    result, doc = replay(cli, deployed, "--yes", "--max", "12")
    assert result.exit_code == 0, result.stderr
    assert (doc["messages"], doc["replayed"], doc["remaining"]) == (12, 12, 1)
    assert len(lam.invoked) == 12
    result, doc = replay(cli, deployed, "--yes")
    assert (doc["messages"], doc["remaining"]) == (1, 0)


def test_a_message_received_twice_in_one_run_is_replayed_once(cli, deployed, lam, runtime):
    """SQS delivers at least once: the second batch brings back a message of the first (the
    replayed one, and the one that failed), with new receipt handles."""
    put(deployed, *(body(f"k{n:02}.csv") for n in range(11)))
    lam.run = failing_for("k00.csv", "k01.csv")
    first: list[dict] = []

    def again(parsed, **_):
        messages = parsed.get("Messages", [])
        if not first:
            first.extend(messages)
        elif messages:
            for earlier in first[:3]:
                parsed["Messages"].append({**earlier, "ReceiptHandle": earlier["ReceiptHandle"]})

    runtime.hooks.append(lambda c: c.meta.events.register("after-call.sqs.ReceiveMessage", again))
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 1
    assert doc["messages"] == 11 and len(doc["events"]) == 11
    assert sorted(lam.keys()) == [f"k{n:02}.csv" for n in range(11)]  # each exactly once
    assert (doc["replayed"], doc["failed"], doc["remaining"]) == (9, 2, 2)
    assert counts(deployed) == (2, 0)


def test_an_invoke_that_aws_refuses_is_a_failed_replay(cli, deployed, lam, faults):
    put(deployed, body("a.csv"))
    faults.add("lambda.Invoke", "AccessDeniedException", "not allowed: lambda:InvokeFunction")
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 1
    [event] = doc["events"]
    assert event["outcome"] == "failed"
    assert event["replay_error"].startswith("invoking the function: access denied: not allowed")
    assert lam.invoked == [] and counts(deployed) == (1, 0)


def test_a_replay_whose_message_cannot_be_deleted_is_reported(cli, deployed, lam, faults):
    put(deployed, body("a.csv"))
    faults.add("sqs.DeleteMessage", "ReceiptHandleIsInvalid", "The receipt handle has expired")
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 1
    [event] = doc["events"]
    assert event["outcome"] == "failed" and lam.keys() == ["a.csv"]
    assert event["replay_error"].startswith("replayed, but its message could not be deleted")
    assert counts(deployed) == (1, 0)  # a later replay finds it; the handler skips it then


def test_batches_of_ten_hidden_for_the_function_timeout_and_a_short_long_poll(
    cli, moto_url, lam, runtime, workdir
):
    (workdir / "pipectl.yaml").write_text("function:\n  timeout_s: 45\n")
    assert cli("up", "--endpoint-url", moto_url).exit_code == 0
    runtime.timing.deadlines = Deadlines()  # the real long poll: 1 s
    receives: list[dict] = []
    read_timeouts: list[int] = []

    def record(aws_client) -> None:
        if aws_client.meta.service_model.service_name == "lambda":
            read_timeouts.append(aws_client.meta.config.read_timeout)
        aws_client.meta.events.register(
            "before-parameter-build.sqs.ReceiveMessage", lambda params, **_: receives.append(params)
        )

    runtime.hooks.append(record)
    put(moto_url, body("a.csv"))
    assert replay(cli, moto_url, "--yes")[1]["replayed"] == 1
    assert receives[0] == {
        "QueueUrl": queue_url(moto_url),
        "MaxNumberOfMessages": 10,
        "VisibilityTimeout": 75,  # timeout_s + 30
        "WaitTimeSeconds": 1,
    }
    assert max(read_timeouts) == 75  # the Invoke client waits as long as the function may run


# refusing, confirming, and what is missing --------------------------------------------------


def test_without_a_terminal_or_yes_it_refuses_before_any_aws_call(cli, runtime):
    result = cli("replay", "--endpoint-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "replay needs confirmation but there is no terminal" in result.stderr
    assert "fix: pass --yes (or --dry-run" in result.stderr
    assert runtime.last_aws is None


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_max_below_one_is_exit_2_before_any_aws_call(cli, runtime, value):
    result = cli("replay", "--endpoint-url", "http://127.0.0.1:9", "--yes", "--max", value)
    assert result.exit_code == 2
    assert f"--max {value} must be 1 or more" in result.stderr
    assert runtime.last_aws is None


def replay_confirmed(url: str, runtime, answer: Callable[[str], bool]) -> int:
    """replay_command.replay with an injected confirmation (the CLI's asks on the terminal)."""
    from pipectl.commands import replay as replay_command
    from pipectl.runtime import GlobalOptions
    from pipectl.ui import UI

    opts = GlobalOptions(endpoint_url=url, json=True)
    return replay_command.replay(
        opts, UI(json_mode=True), runtime, max_messages=None, dry_run=False, confirm=answer
    )


def test_declining_replays_nothing(deployed, lam, runtime, capsys):
    put(deployed, body("a.csv"))
    prompts: list[str] = []
    assert replay_confirmed(deployed, runtime, lambda p: prompts.append(p) or False) == 1
    assert prompts == ["Replay these 1 failed event(s)?"]
    doc = json.loads(capsys.readouterr().out)
    assert doc["cancelled"] is True and doc["ok"] is False
    assert lam.invoked == [] and counts(deployed) == (1, 0)


def test_confirming_replays_what_was_listed_and_nothing_that_arrived_since(
    deployed, lam, runtime, capsys
):
    put(deployed, body("a.csv"))

    def yes_while_another_arrives(prompt: str) -> bool:
        put(deployed, body("late.csv"))
        return True

    assert replay_confirmed(deployed, runtime, yes_while_another_arrives) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["messages"], doc["replayed"], doc["remaining"]) == (1, 1, 1)
    assert lam.keys() == ["a.csv"]
    assert counts(deployed) == (1, 0)


def test_a_missing_function_stops_before_reading_the_queue(cli, deployed, lam):
    put(deployed, body("a.csv"))
    client("lambda", deployed).delete_function(FunctionName=FUNCTION)
    result = cli("replay", "--endpoint-url", deployed, "--yes")
    assert result.exit_code == 1
    assert f"function {FUNCTION} does not exist" in result.stderr
    assert "fix: run `pipectl up`" in result.stderr
    assert counts(deployed) == (1, 0)


def test_a_missing_queue_is_an_error_unless_the_config_turned_it_off(cli, deployed, workdir):
    client("sqs", deployed).delete_queue(QueueUrl=queue_url(deployed))
    result = cli("replay", "--endpoint-url", deployed, "--yes")
    assert result.exit_code == 1
    assert f"the on-failure queue {QUEUE} does not exist" in result.stderr
    (workdir / "pipectl.yaml").write_text("function:\n  on_failure_queue: false\n")
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 0
    assert (doc["ok"], doc["messages"], doc["remaining"]) == (True, 0, 0)
    assert "function.on_failure_queue is false, nothing to replay" in result.stderr


# replaying twice never processes twice ------------------------------------------------------


def load_handler() -> Any:
    path = Path(__file__).resolve().parents[2] / "handler" / "app.py"
    spec = importlib.util.spec_from_file_location("pipectl_handler_for_replay", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_same_event_replayed_twice_is_skipped_the_second_time(cli, deployed, lam, monkeypatch):
    """The real handler runs behind the fake Invoke, against moto's table: a real S3 record with
    a sequencer is written once; replayed again it fails the ordering condition and is skipped."""
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("AWS_ENDPOINT_URL", deployed)
    handler = load_handler()
    results: list[dict] = []
    log = io.StringIO()

    def run(event: Any) -> Any:
        with contextlib.redirect_stdout(log):  # the handler's JSON lines; stdout is for --json
            results.append(handler.lambda_handler(event, SimpleNamespace(aws_request_id="r-1")))
        return results[-1]

    lam.run = run
    record = json.dumps(on_failure_record(s3_event("incoming/red flower é.jpg")))
    ddb = client("dynamodb", deployed)

    def item() -> dict:
        key = {"file_name": {"S": "incoming/red flower é.jpg"}}
        return ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]

    put(deployed, record)
    assert replay(cli, deployed, "--yes")[0].exit_code == 0
    first = item()
    put(deployed, record)  # the same event again (Lambda delivers at least once)
    result, doc = replay(cli, deployed, "--yes")
    assert result.exit_code == 0 and doc["replayed"] == 1
    assert results == [
        {"processed": 1, "skipped": 0, "failed": 0},
        {"processed": 0, "skipped": 1, "failed": 0},
    ]
    assert item() == first  # byte for byte: processed_at and request_id unchanged
    assert '"reason": "stale_or_duplicate"' in log.getvalue()
    assert first["sequencer"] == {"S": "0055AED6DCD90281E5"}
    assert counts(deployed) == (0, 0)
