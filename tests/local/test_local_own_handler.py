"""A user's own handler on the embedded emulator, through the CLI: `invoke` with an S3 event or
an event file, a handler that fails, and (network) a requirements.txt whose package the handler
imports to compute an item attribute."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from emulator_helpers import free_port, wait_for

from pipectl.build.platforms import local_platform
from pipectl.local import server

ECHO_HANDLER = "def lambda_handler(event, context):\n    return {'echo': event}\n"
FAILING_HANDLER = """\
def lambda_handler(event, context):
    raise ValueError("cannot process " + event["Records"][0]["s3"]["object"]["key"])
"""
HUMANIZE_HANDLER = """\
import os
from urllib.parse import unquote_plus

import boto3
import humanize  # from requirements.txt


def lambda_handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        obj = record["s3"]["object"]
        table.put_item(
            Item={
                "file_name": unquote_plus(obj["key"]),
                "status": "Processed",
                "size_human": humanize.naturalsize(obj["size"]),
            }
        )
    return {"records": len(event["Records"])}
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("pipectl-home")
    server.start(port=free_port(), home=path)
    yield path
    server.stop(home=path)


@pytest.fixture
def local_cli(cli, runtime, home):
    runtime.pipectl_home = home
    return cli


@pytest.fixture
def endpoint(home) -> str:
    info = server.status(home)
    assert info is not None
    return info.endpoint_url


def pipeline_config(workdir: Path, name: str, handler: str | None, **files: str) -> str:
    """pipectl.yaml for a pipeline of its own (names derived from `name`); the handler folder
    holds app.py = `handler` and `files` (None: the bundled handler). Returns the bucket."""
    source = "null"
    if handler is not None:
        folder = workdir / "handler"
        folder.mkdir()
        (folder / "app.py").write_text(handler)
        for file_name, text in files.items():
            (folder / file_name.replace("_txt", ".txt")).write_text(text)
        source = "handler"
    bucket = f"{name}-input-123456789012"
    (workdir / "pipectl.yaml").write_text(
        f"pipeline: {name}\nbucket:\n  name: {bucket}\ntable:\n  name: {name}-results\n"
        f"function:\n  name: {name}-fn\n  source: {source}\n"
        'trigger:\n  prefix: "incoming/"\n'
    )
    return bucket


def up(local_cli) -> None:
    result = local_cli("up", "--local", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_invoke_key_sends_an_s3_event_and_shows_result_and_report(local_cli, workdir, endpoint):
    bucket = pipeline_config(workdir, "inv-bundled", None)
    up(local_cli)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    # Outside the trigger's prefix: only `invoke` sends an event for it.
    s3.put_object(Bucket=bucket, Key="manual/red flower.csv", Body=b"a,b\n1,2\n")
    result = local_cli("invoke", "--local", "--key", "manual/red flower.csv", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["function_error"] is None
    assert document["status_code"] == 200 and isinstance(document["payload"], dict)
    tail = document["log_tail"]
    starts = [i for i, line in enumerate(tail) if line.startswith("START RequestId:")]
    ends = [i for i, line in enumerate(tail) if line.startswith("END RequestId:")]
    assert len(starts) == len(ends) == 1 and starts[0] < ends[0]
    assert tail[-1].startswith("REPORT RequestId:")  # after INIT_START on a cold start
    item = boto3.client("dynamodb", endpoint_url=endpoint).get_item(
        TableName="inv-bundled-results", Key={"file_name": {"S": "manual/red flower.csv"}}
    )["Item"]
    assert item["size"]["N"] == "8"  # from HeadObject, carried by the event
    assert item["bucket"]["S"] == bucket

    human = local_cli("invoke", "--local", "--key", "manual/red flower.csv")
    assert human.exit_code == 0
    assert "REPORT RequestId:" in human.stderr and "Duration:" in human.stderr
    assert "returned (status 200)" in human.stderr
    for name in document["payload"]:  # the payload is printed, as JSON
        assert f'"{name}":' in human.stderr

    missing = local_cli("invoke", "--local", "--key", "manual/not there.csv", "--json")
    assert json.loads(missing.stdout)["ok"] is True  # stdout stays one document
    warning = " ".join(missing.stderr.split())
    assert f"warning: no object manual/not there.csv in {bucket}" in warning
    assert "skips such a record as malformed; upload it first" in warning
    assert f"(aws s3 cp FILE 's3://{bucket}/manual/not there.csv')" in warning  # quoted for a shell


def test_local_wheels_are_for_the_python_the_emulator_recorded(local_cli, workdir, home):
    """Once a function of a runtime has run, the emulator has recorded which Python runs it; the
    local build installs for exactly that one."""
    pipeline_config(workdir, "inv-python", ECHO_HANDLER)
    up(local_cli)
    (workdir / "e.json").write_text("{}")
    assert local_cli("invoke", "--local", "--event", "e.json").exit_code == 0
    recorded = server.runtime_interpreters(home)["python3.12"]
    platform = local_platform("python3.12", home)
    assert platform.python_version == ".".join(recorded["version"].split(".")[:2])
    assert recorded["executable"] in platform.identity()["extra"]


def test_invoke_event_file(local_cli, workdir):
    pipeline_config(workdir, "inv-echo", ECHO_HANDLER)
    up(local_cli)
    (workdir / "event.json").write_text('{"hello": "wörld", "n": [1, 2]}')
    result = local_cli("invoke", "--local", "--event", "event.json", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["payload"] == {"echo": {"hello": "wörld", "n": [1, 2]}}


def test_a_failing_handler_exits_1_with_its_error_type(local_cli, workdir):
    pipeline_config(workdir, "inv-fails", FAILING_HANDLER)
    up(local_cli)
    result = local_cli("invoke", "--local", "--key", "incoming/a b.csv")
    assert result.exit_code == 1
    assert "failed" in result.stderr
    assert "ValueError: cannot process incoming/a+b.csv" in result.stderr
    assert "REPORT RequestId:" in result.stderr
    document = json.loads(local_cli("invoke", "--local", "--key", "x", "--json").stdout)
    assert document["ok"] is False and document["function_error"]
    assert document["payload"]["errorType"] == "ValueError"


def test_invoking_a_function_that_is_not_deployed_says_run_up(local_cli, workdir):
    pipeline_config(workdir, "inv-missing", ECHO_HANDLER)
    result = local_cli("invoke", "--local", "--event", "pipectl.yaml")
    assert result.exit_code == 2  # a YAML file is not JSON: refused before anything else
    (workdir / "e.json").write_text("{}")
    result = local_cli("invoke", "--local", "--event", "e.json")
    assert result.exit_code == 1
    assert "function inv-missing-fn does not exist" in result.stderr
    assert "pipectl up" in result.stderr


@pytest.mark.network
def test_requirements_are_installed_and_the_handler_uses_them(local_cli, workdir, endpoint):
    """requirements.txt names a pure-Python package from PyPI; the handler imports it to compute
    `size_human`; an upload through S3 then carries that attribute into the item."""
    bucket = pipeline_config(
        workdir, "own-deps", HUMANIZE_HANDLER, requirements_txt="humanize==4.12.3\n"
    )
    package = local_cli("package", "--local", "--json")
    assert package.exit_code == 0, package.stderr
    assert json.loads(package.stdout)["packages"] == [{"name": "humanize", "version": "4.12.3"}]
    up(local_cli)
    boto3.client("s3", endpoint_url=endpoint).put_object(
        Bucket=bucket, Key="incoming/report 2026.csv", Body=b"x" * 2048
    )
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    item = wait_for(
        lambda: dynamodb.get_item(
            TableName="own-deps-results", Key={"file_name": {"S": "incoming/report 2026.csv"}}
        ).get("Item"),
        timeout_s=30,
        what="the item written by the handler",
    )
    assert item["size_human"]["S"] == "2.0 kB"
