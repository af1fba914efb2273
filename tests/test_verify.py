"""`pipectl verify`: each broken link gives exit 1 and its own diagnosis.

Plain moto does not run Lambda code, so `FakeFunction` stands in for it: a botocore hook on the
probe's PutObject that writes what a (healthy or broken) function would, items and log lines.
The end-to-end tests at the bottom run the real handler on the embedded emulator.
"""

from __future__ import annotations

import json
import socket
import textwrap
import time
import uuid
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pytest

from pipectl import verify as core

BUCKET = "serverless-data-input-123456789012-us-east-1"
TABLE = "ProcessedResults"
FUNCTION = "serverless-data-processor"
GROUP = f"/aws/lambda/{FUNCTION}"
NOTIFICATION_ID = "pipectl-serverless-data"
PERMISSION_SID = "pipectl-serverless-data-s3-invoke"
PREFLIGHT = ["bucket", "trigger", "permission", "function", "table"]


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


def now_ms() -> int:
    return int(time.time() * 1000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeFunction:
    """Does, right after the probe upload, what the deployed function would in `mode`:

    ok        item Processed + START / handler line / summary / END / REPORT
    encoded   the same, but keyed by the URL-encoded key (a handler that forgot unquote_plus)
    error     crash before any record: [ERROR] + traceback lines, no item
    failed    the handler's own ERROR line for the key (write denied), no item
    other     an error in an invocation for another key, no item (not the probe's failure)
    status    item with status "Received"
    nolog     item Processed, no log line at all
    none      nothing (S3 never invoked it)
    """

    def __init__(self, url: str) -> None:
        self.mode = "none"
        self.keys: list[str] = []
        self.ddb = client("dynamodb", url)
        self.logs = client("logs", url)

    def hook(self, aws_client) -> None:
        if aws_client.meta.service_model.service_name != "s3":
            return
        events = aws_client.meta.events
        events.register("before-parameter-build.s3.PutObject", self._remember)
        events.register("after-call.s3.PutObject", self._after_upload)

    def _remember(self, params, context, **_) -> None:
        context["probe_key"] = params["Key"]

    def _after_upload(self, context, **_) -> None:
        key = context["probe_key"]
        self.keys.append(key)
        self.run(key)

    def run(self, key: str) -> None:
        rid = str(uuid.uuid4())
        mode = self.mode
        if mode in {"ok", "nolog", "status"}:
            self.put_item(key, rid, "Received" if mode == "status" else "Processed")
        if mode == "encoded":
            self.put_item(quote_plus(key), rid, "Processed")
        lines = {
            "ok": self.handler_lines(key, rid),
            "status": self.handler_lines(key, rid),
            "encoded": self.handler_lines(quote_plus(key), rid),
            "error": [
                "[ERROR] KeyError: 'TABLE_NAME'",
                "Traceback (most recent call last):",
                '  File "/var/task/app.py", line 3, in lambda_handler',
            ],
            "failed": [
                handler_line("ERROR", "record failed", key, rid, reason="AccessDeniedException"),
                handler_line("ERROR", "invocation summary", None, rid, failed=1),
                "[ERROR] RecordsFailedError: 1 of 1 records failed to write",
            ],
            "other": [
                handler_line("ERROR", "record failed", "someone/else.txt", rid, reason="X"),
                "[ERROR] RecordsFailedError: 1 of 1 records failed to write",
            ],
        }.get(mode)
        if lines is not None:
            self.write_invocation(rid, lines)

    def handler_lines(self, key: str, rid: str) -> list[str]:
        return [
            handler_line("INFO", "record processed", key, rid, outcome="processed"),
            handler_line("INFO", "invocation summary", None, rid, processed=1),
        ]

    def put_item(self, key: str, rid: str, status: str) -> None:
        self.ddb.put_item(
            TableName=TABLE,
            Item={
                "file_name": {"S": key},
                "bucket": {"S": BUCKET},
                "status": {"S": status},
                "request_id": {"S": rid},
                "size": {"N": "37"},
            },
        )

    def write_invocation(self, rid: str, lines: list[str]) -> None:
        stream = f"2026/11/28/[$LATEST]{uuid.uuid4().hex}"
        self.logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        framed = [
            f"START RequestId: {rid} Version: $LATEST",
            *lines,
            f"END RequestId: {rid}",
            f"REPORT RequestId: {rid}\tDuration: 12.00 ms\tBilled Duration: 12 ms",
        ]
        stamp = now_ms()
        self.logs.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": stamp + i, "message": m} for i, m in enumerate(framed)],
        )


def handler_line(level: str, message: str, key: str | None, rid: str, **fields) -> str:
    """A log line as handler/app.py prints it (json.dumps: non-ASCII as \\uXXXX)."""
    data = {"level": level, "message": message, **({"key": key} if key else {}), **fields}
    return json.dumps({**data, "request_id": rid})


@pytest.fixture
def fake(runtime, moto_url) -> FakeFunction:
    # moto (in this process) tries Docker for each S3 -> Lambda event; inside a container it first
    # print()s a warning once per process, which would land in the CLI's captured stdout. Run
    # that cached lookup here, where pytest captures it.
    from moto import settings

    settings.moto_server_host()
    function = FakeFunction(moto_url)
    runtime.hooks.append(function.hook)
    return function


@pytest.fixture
def deployed(cli, moto_url, fake):
    result = cli("up", "--endpoint-url", moto_url, "--json")
    assert result.exit_code == 0, result.stderr
    return moto_url


def verify(cli, url, *extra):
    result = cli("verify", "--endpoint-url", url, "--json", *extra)
    assert result.stdout.strip(), result.stderr
    return result, json.loads(result.stdout)


def checks(doc) -> dict[str, dict]:
    return {c["name"]: c for c in doc["checks"]}


def failed(doc) -> list[str]:
    return [c["name"] for c in doc["checks"] if not c["ok"]]


def calls(runtime) -> list[str]:
    return runtime.last_aws.calls.calls


def table_keys(url: str) -> list[str]:
    items = client("dynamodb", url).scan(TableName=TABLE)["Items"]
    return sorted(item["file_name"]["S"] for item in items)


def bucket_keys(url: str) -> list[str]:
    return sorted(
        o["Key"] for o in client("s3", url).list_objects_v2(Bucket=BUCKET).get("Contents", [])
    )


# passing -------------------------------------------------------------------------------------


def test_passes_and_reports_the_json_document(cli, deployed, fake, runtime):
    fake.mode = "ok"
    result, doc = verify(cli, deployed)
    assert result.exit_code == 0, result.stderr
    assert set(doc) >= {"ok", "key", "latency_ms", "item", "logs", "checks"}
    assert doc["ok"] is True
    key = doc["key"]
    assert key.startswith("pipectl-verify/probe ") and "+" in key and "é" in key
    assert fake.keys == [key]
    assert isinstance(doc["latency_ms"], int)
    assert doc["item"]["file_name"] == key and doc["item"]["status"] == "Processed"
    assert doc["item"]["size"] == 37  # numbers as numbers, not Decimal strings
    assert doc["logs"][0].startswith("START RequestId: ")
    assert doc["logs"][-1].startswith("REPORT RequestId: ")
    assert [c["name"] for c in doc["checks"]] == [
        *PREFLIGHT,
        "upload",
        "item",
        "logs",
        "invocation",
    ]
    assert all(c["ok"] for c in doc["checks"])
    assert set(doc["checks"][0]) == {"name", "ok", "detail"}
    assert bucket_keys(deployed) == [] and table_keys(deployed) == []  # cleaned up
    assert "dynamodb.GetItem" not in calls(runtime)  # one BatchGetItem per poll


def test_human_output_shows_checks_timeline_and_log_lines(cli, deployed, fake):
    fake.mode = "ok"
    result = cli("verify", "--endpoint-url", deployed)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # a report for people goes to stderr
    err = result.stderr
    for name in [*PREFLIGHT, "upload", "item", "logs"]:
        assert f"✓ {name}" in err
    assert "timeline  uploaded ──▶ item seen +" in err and "──▶ logs seen +" in err
    assert "START RequestId" in err and "INFO record processed" in err
    assert "verify passed" in err


def test_probe_key_respects_the_trigger_prefix_and_suffix(cli, moto_url, fake, workdir):
    (workdir / "pipectl.yaml").write_text('trigger:\n  prefix: "incoming/"\n  suffix: ".csv"\n')
    assert cli("up", "--endpoint-url", moto_url).exit_code == 0
    fake.mode = "ok"
    result, doc = verify(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert doc["key"].startswith("incoming/pipectl-verify/probe ")
    assert doc["key"].endswith("+é.csv")
    assert "prefix 'incoming/'" in checks(doc)["trigger"]["detail"]


def test_keep_leaves_the_probe_object_and_item(cli, deployed, fake):
    fake.mode = "ok"
    result, doc = verify(cli, deployed, "--keep")
    assert result.exit_code == 0, result.stderr
    assert bucket_keys(deployed) == [doc["key"]]
    assert table_keys(deployed) == [doc["key"]]


def test_cleanup_deletes_only_the_probe(cli, deployed, fake):
    s3, ddb = client("s3", deployed), client("dynamodb", deployed)
    s3.put_object(Bucket=BUCKET, Key="pipectl-verify/someone else's.txt", Body=b"x")
    ddb.put_item(TableName=TABLE, Item={"file_name": {"S": "pipectl-verify/someone else's.txt"}})
    fake.mode = "error"  # cleanup runs on failure too
    result, doc = verify(cli, deployed, "--timeout", "5")
    assert result.exit_code == 1
    assert bucket_keys(deployed) == ["pipectl-verify/someone else's.txt"]
    assert table_keys(deployed) == ["pipectl-verify/someone else's.txt"]


def test_failed_events_waiting_are_a_warning_not_a_failure(cli, deployed, fake):
    fake.mode = "ok"
    result, doc = verify(cli, deployed)
    assert result.exit_code == 0 and doc["warnings"] == []
    sqs = client("sqs", deployed)
    url = sqs.get_queue_url(QueueName=f"{FUNCTION}-failures")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    result, doc = verify(cli, deployed)
    assert result.exit_code == 0, result.stderr
    assert doc["ok"] is True
    assert doc["warnings"] == [
        f"2 failed event(s) wait in {FUNCTION}-failures: list them with "
        "`pipectl replay --dry-run`, process them again with `pipectl replay`"
    ]
    result = cli("verify", "--endpoint-url", deployed)
    assert "warning: 2 failed event(s) wait in" in result.stderr
    assert "verify passed" in result.stderr


def test_a_missing_queue_is_a_warning_too(cli, deployed, fake):
    fake.mode = "ok"
    sqs = client("sqs", deployed)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=f"{FUNCTION}-failures")["QueueUrl"])
    result, doc = verify(cli, deployed)
    assert result.exit_code == 0, result.stderr
    [warning] = doc["warnings"]
    assert warning.startswith(f"on-failure queue {FUNCTION}-failures is missing")


# preflight failures: nothing is uploaded ------------------------------------------------------


def put_notification(url: str, entries: list[dict]) -> None:
    config = {"LambdaFunctionConfigurations": entries} if entries else {}
    client("s3", url).put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration=config
    )


def pipectl_entry(url: str) -> dict:
    config = client("s3", url).get_bucket_notification_configuration(Bucket=BUCKET)
    entry = config["LambdaFunctionConfigurations"][0]
    assert entry["Id"] == NOTIFICATION_ID
    return entry


def assert_preflight_failure(result, doc, runtime, name: str) -> dict:
    assert result.exit_code == 1, result.stderr
    assert doc["ok"] is False and doc["latency_ms"] is None and doc["item"] is None
    assert [c["name"] for c in doc["checks"]] == PREFLIGHT  # all reported, none uploaded
    assert name in failed(doc)
    assert "s3.PutObject" not in calls(runtime)
    return checks(doc)[name]


def test_no_notification(cli, deployed, runtime):
    put_notification(deployed, [])
    result, doc = verify(cli, deployed)
    check = assert_preflight_failure(result, doc, runtime, "trigger")
    assert check["detail"].startswith("no notification")
    assert failed(doc) == ["trigger"]


def test_notification_with_wrong_events(cli, deployed, runtime):
    entry = pipectl_entry(deployed)
    put_notification(deployed, [{**entry, "Events": ["s3:ObjectRemoved:*"]}])
    result, doc = verify(cli, deployed)
    check = assert_preflight_failure(result, doc, runtime, "trigger")
    assert "events s3:ObjectRemoved:*, want s3:ObjectCreated:*" in check["detail"]


def test_notification_with_wrong_filter(cli, deployed, runtime):
    entry = pipectl_entry(deployed)
    rules = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "elsewhere/"}]}}
    put_notification(deployed, [{**entry, "Filter": rules}])
    result, doc = verify(cli, deployed)
    check = assert_preflight_failure(result, doc, runtime, "trigger")
    assert "prefix 'elsewhere/', want ''" in check["detail"]


def test_events_that_a_put_never_fires(cli, moto_url, runtime, workdir):
    (workdir / "pipectl.yaml").write_text('trigger:\n  events: ["s3:ObjectCreated:Copy"]\n')
    assert cli("up", "--endpoint-url", moto_url).exit_code == 0
    result, doc = verify(cli, moto_url)
    check = assert_preflight_failure(result, doc, runtime, "trigger")
    assert "do not include s3:ObjectCreated:Put" in check["detail"]


def test_permission_missing(cli, deployed, runtime):
    client("lambda", deployed).remove_permission(FunctionName=FUNCTION, StatementId=PERMISSION_SID)
    result, doc = verify(cli, deployed)
    check = assert_preflight_failure(result, doc, runtime, "permission")
    assert check["detail"].startswith("permission missing")
    assert failed(doc) == ["permission"]


def test_function_not_active(cli, deployed, runtime):
    def pending(aws_client) -> None:
        def patch(parsed, **_) -> None:
            parsed["Configuration"].update(State="Pending", StateReason="being created")

        aws_client.meta.events.register("after-call.lambda.GetFunction", patch)

    runtime.hooks.append(pending)
    result, doc = verify(cli, deployed)
    check = assert_preflight_failure(result, doc, runtime, "function")
    assert "State Pending (being created)" in check["detail"]
    human = cli("verify", "--endpoint-url", deployed)
    assert "fix: wait a minute for Lambda to finish" in human.stderr


def failed_function(aws_client) -> None:
    """GetFunction as Lambda answers for a function whose provisioning failed: "you must delete
    and recreate the function" (https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html)."""

    def patch(parsed, **_) -> None:
        parsed["Configuration"].update(
            State="Failed", StateReasonCode="InvalidZipFileException", StateReason="bad zip"
        )

    aws_client.meta.events.register("after-call.lambda.GetFunction", patch)


def test_a_failed_function_is_not_told_to_wait(cli, deployed, runtime):
    runtime.hooks.append(failed_function)
    result, doc = verify(cli, deployed)
    check = assert_preflight_failure(result, doc, runtime, "function")
    assert check["detail"] == (
        "function serverless-data-processor cannot run: State Failed "
        "(InvalidZipFileException: bad zip)"
    )
    human = cli("verify", "--endpoint-url", deployed)
    assert "wait" not in human.stderr.split("✗ function", 1)[1].split("\n")[1]
    assert "fix: run `pipectl up`: it deletes and recreates the function" in human.stderr


def test_the_headline_names_the_cause_not_the_first_symptom(cli, deployed, runtime):
    """With the function gone its policy goes too: the permission check (listed first) fails
    as a symptom; the headline must name the function."""
    client("lambda", deployed).delete_function(FunctionName=FUNCTION)
    result, doc = verify(cli, deployed)
    assert failed(doc) == ["permission", "function"]
    assert doc["cause"] == "function"
    human = cli("verify", "--endpoint-url", deployed)
    assert "verify failed at function: function serverless-data-processor does not exist" in (
        human.stderr
    )
    assert "also failing, possibly because of it: permission" in human.stderr


def test_table_missing_and_every_check_still_reported(cli, deployed, runtime):
    client("dynamodb", deployed).delete_table(TableName=TABLE)
    put_notification(deployed, [])
    result, doc = verify(cli, deployed)
    assert_preflight_failure(result, doc, runtime, "table")
    assert failed(doc) == ["trigger", "table"]
    assert "does not exist" in checks(doc)["table"]["detail"]


def test_preflight_failure_in_human_output(cli, deployed):
    put_notification(deployed, [])
    result = cli("verify", "--endpoint-url", deployed)
    assert result.exit_code == 1
    assert "✗ trigger" in result.stderr and "fix: run `pipectl up`" in result.stderr
    assert "verify failed at trigger: no notification" in result.stderr
    assert "nothing was uploaded" in result.stderr


# probe failures ------------------------------------------------------------------------------


def test_item_never_appears_within_the_deadline(cli, deployed, fake, fake_clock, runtime):
    fake.mode = "none"
    result, doc = verify(cli, deployed, "--timeout", "5")
    assert result.exit_code == 1
    assert failed(doc) == ["item"]
    detail = checks(doc)["item"]["detail"]
    assert detail.startswith("item never appeared within 5 s")
    assert 4.9 <= sum(fake_clock.sleeps) <= 5.0  # bounded by the deadline, on the fake clock
    assert max(fake_clock.sleeps) <= 1.0 and fake_clock.sleeps[0] == pytest.approx(0.1)
    assert bucket_keys(deployed) == []  # the probe object is removed on failure too
    assert "s3.DeleteObject" in calls(runtime)


def test_item_never_appears_with_the_default_timeout(cli, deployed, fake, fake_clock):
    fake.mode = "none"
    result = cli("verify", "--endpoint-url", deployed)
    assert result.exit_code == 1
    assert "item never appeared within 60 s" in result.stderr
    assert sum(fake_clock.sleeps) == pytest.approx(60)
    assert "timeline  uploaded ──▶ item not seen" in result.stderr


def test_function_errors_show_the_error_lines(cli, deployed, fake, fake_clock):
    fake.mode = "error"
    result, doc = verify(cli, deployed)
    assert result.exit_code == 1
    assert failed(doc) == ["invocation"]
    assert checks(doc)["invocation"]["detail"].startswith("function errors")
    assert "[ERROR] KeyError: 'TABLE_NAME'" in doc["logs"]
    assert "Traceback (most recent call last):" in doc["logs"]
    assert doc["item"] is None
    assert sum(fake_clock.sleeps) < 5  # found in the logs, not waited out
    human = cli("verify", "--endpoint-url", deployed)
    assert "verify failed at invocation: function errors" in human.stderr
    assert "evidence (log lines)" in human.stderr and "[ERROR] KeyError" in human.stderr


def test_function_errors_logged_by_the_handler_for_the_key(cli, deployed, fake):
    fake.mode = "failed"
    result, doc = verify(cli, deployed)
    assert result.exit_code == 1
    assert failed(doc) == ["invocation"]
    assert any("AccessDeniedException" in line for line in doc["logs"])


def test_another_keys_error_is_not_blamed_on_the_probe(cli, deployed, fake):
    fake.mode = "other"
    result, doc = verify(cli, deployed, "--timeout", "3")
    assert result.exit_code == 1
    assert failed(doc) == ["item"]
    assert (
        "1 invocation(s) logged since the upload, none wrote the item"
        in (checks(doc)["item"]["detail"])
    )


def test_item_with_the_key_still_url_encoded(cli, deployed, fake, fake_clock):
    fake.mode = "encoded"
    result, doc = verify(cli, deployed)
    assert result.exit_code == 1
    assert failed(doc) == ["item"]
    detail = checks(doc)["item"]["detail"]
    assert detail.startswith("item appeared with the key still URL-encoded")
    assert doc["item"]["file_name"] == quote_plus(doc["key"])
    assert "%C3%A9" in doc["item"]["file_name"] and "%2B" in doc["item"]["file_name"]
    assert any("%C3%A9" in line for line in doc["logs"])
    assert sum(fake_clock.sleeps) < 1
    assert table_keys(deployed) == []  # the encoded item was the probe's: removed too


def test_item_with_another_status(cli, deployed, fake):
    fake.mode = "status"
    result, doc = verify(cli, deployed, "--timeout", "3")
    assert result.exit_code == 1
    assert failed(doc) == ["item"]
    assert "status 'Received', want 'Processed'" in checks(doc)["item"]["detail"]


def test_item_but_no_logs(cli, deployed, fake, fake_clock):
    fake.mode = "nolog"
    result, doc = verify(cli, deployed, "--timeout", "4")
    assert result.exit_code == 1
    assert failed(doc) == ["logs"]
    assert checks(doc)["item"]["ok"] is True and isinstance(doc["latency_ms"], int)
    assert "logs never appeared within 4 s" in checks(doc)["logs"]["detail"]
    assert sum(fake_clock.sleeps) == pytest.approx(4)


def test_upload_denied(cli, deployed, faults):
    faults.add("s3.PutObject", "AccessDenied", "Access Denied", status=403)
    result, doc = verify(cli, deployed)
    assert result.exit_code == 1
    assert failed(doc) == ["upload"]
    assert "access denied" in checks(doc)["upload"]["detail"]


# bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_bad_timeout_is_exit_2_before_any_aws_call(cli, runtime, value):
    result = cli("verify", "--endpoint-url", "http://127.0.0.1:9", "--timeout", value)
    assert result.exit_code == 2, result.output
    assert "--timeout" in (result.stderr + result.output)
    assert runtime.last_aws is None or runtime.last_aws.calls.calls == []


# units ---------------------------------------------------------------------------------------


def test_key_forms_cover_the_handlers_json_escape_and_both_encodings():
    key = "pipectl-verify/probe 1+é.txt"
    forms = core.key_forms(key)
    assert key in forms
    assert "pipectl-verify/probe 1+\\u00e9.txt" in forms
    assert "pipectl-verify/probe+1%2B%C3%A9.txt" in forms  # AWS keeps "/"
    assert "pipectl-verify%2Fprobe+1%2B%C3%A9.txt" in forms  # moto encodes it


def test_invocations_attribute_traceback_lines_by_stream():
    from pipectl.logs import LogEvent

    events = [
        LogEvent(1, "a", "START RequestId: r1 Version: $LATEST", "1"),
        LogEvent(2, "b", "START RequestId: r2 Version: $LATEST", "2"),
        LogEvent(3, "a", "[ERROR] Boom", "3"),
        LogEvent(4, "a", '  File "app.py", line 1', "4"),
        LogEvent(5, "b", handler_line("INFO", "record processed", "k", "r2"), "5"),
        LogEvent(6, "a", "REPORT RequestId: r1\tDuration: 1 ms", "6"),
        LogEvent(7, "a", "moto: error running docker", "7"),
    ]
    groups = {inv.request_id: inv for inv in core.invocations(events)}
    assert [e.event_id for e in groups["r1"].events] == ["1", "3", "4", "6"]
    assert [e.message for e in groups["r1"].errors] == ["[ERROR] Boom"]
    assert groups["r2"].keys() == {"k"}
    assert [e.event_id for e in groups[None].events] == ["7"]


# end to end on the embedded emulator ---------------------------------------------------------

BROKEN_HANDLER = """
def lambda_handler(event, context):
    raise RuntimeError("probe handler is broken on purpose")
"""
UNDECODED_HANDLER = """
import json, os
import boto3

def lambda_handler(event, context):
    ddb = boto3.client("dynamodb")
    for record in event["Records"]:
        key = record["s3"]["object"]["key"]  # forgot unquote_plus
        ddb.put_item(TableName=os.environ["TABLE_NAME"], Item={
            "file_name": {"S": key}, "status": {"S": "Processed"},
            "request_id": {"S": context.aws_request_id}})
        print(json.dumps({"level": "INFO", "message": "record processed", "key": key}))
"""


@pytest.fixture(scope="module")
def emulator_home(tmp_path_factory):
    """One emulator for this module, on a free port, in its own PIPECTL_HOME."""
    server = pytest.importorskip("pipectl.local.server")
    home = tmp_path_factory.mktemp("pipectl-home")
    info, started = server.start(port=free_port(), home=home)
    assert started
    yield home
    server.stop(home=home)


@pytest.fixture
def local(emulator_home, workdir):
    """Run pipectl with --local against the module's emulator, on the real clock."""
    from typer.testing import CliRunner

    from pipectl.cli import app
    from pipectl.runtime import Runtime

    def invoke(*args: str):
        runtime = Runtime(pipectl_home=emulator_home)
        return CliRunner().invoke(app, [*args, "--local"], obj=runtime, catch_exceptions=False)

    return invoke


def with_handler(workdir: Path, source: str) -> None:
    folder = workdir / "handler"
    folder.mkdir()
    (folder / "app.py").write_text(textwrap.dedent(source))
    (workdir / "pipectl.yaml").write_text(f"function:\n  source: {folder}\n")


def test_local_up_verify_and_logs(local):
    up = local("up")
    assert up.exit_code == 0, up.stderr
    result = local("verify")
    assert result.exit_code == 0, result.stderr
    assert "timeline  uploaded ──▶ item seen +" in result.stderr
    assert "verify passed" in result.stderr
    doc = json.loads(local("verify", "--json").stdout)
    assert doc["ok"] is True and doc["latency_ms"] < 30_000
    assert [line.split(" ")[0] for line in doc["logs"] if not line.startswith("{")] == [
        "START",
        "END",
        "REPORT",
    ]
    logs = local("logs", "--since", "5m")
    assert logs.exit_code == 0, logs.stderr
    for marker in ("START RequestId", "END RequestId", "REPORT RequestId", "record processed"):
        assert marker in logs.stdout
    assert doc["key"] in logs.stdout  # the handler's line, rendered readably


def test_local_function_errors(local, workdir):
    with_handler(workdir, BROKEN_HANDLER)
    assert local("up").exit_code == 0
    result = local("verify", "--json", "--timeout", "30")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1
    assert failed(doc) == ["invocation"]
    assert "[ERROR] RuntimeError: probe handler is broken on purpose" in doc["logs"]
    assert "Traceback (most recent call last):" in doc["logs"]


def test_local_key_still_url_encoded(local, workdir):
    with_handler(workdir, UNDECODED_HANDLER)
    assert local("up").exit_code == 0
    result = local("verify", "--json", "--timeout", "30")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1
    assert failed(doc) == ["item"]
    assert "URL-encoded" in checks(doc)["item"]["detail"]
    assert "%C3%A9" in doc["item"]["file_name"]
