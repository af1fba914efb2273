"""The whole pipeline on the embedded emulator, driven through pipectl's CLI and the plain aws CLI:
up → upload → item → logs → down, plus the emulator's lifecycle commands."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from emulator_helpers import free_port, wait_for

from pipectl.local import server

BUCKET = "serverless-data-input-123456789012-us-east-1"


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


def test_up_local_then_a_plain_aws_cli_upload_is_processed(local_cli, home, tmp_path):
    result = local_cli("up", "--local", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    info = server.status(home)
    probe = tmp_path / "report 2026.csv"
    probe.write_text("a,b\n1,2\n")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [
            "aws",
            "--endpoint-url",
            info.endpoint_url,
            "s3",
            "cp",
            str(probe),
            f"s3://{BUCKET}/incoming/report 2026+é.csv",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    dynamodb = boto3.client("dynamodb", endpoint_url=info.endpoint_url)
    key = {"file_name": {"S": "incoming/report 2026+é.csv"}}
    item = wait_for(
        lambda: dynamodb.get_item(TableName="ProcessedResults", Key=key).get("Item"),
        timeout_s=30,
        what="the item",
    )
    assert item["status"]["S"] == "Processed"
    assert item["bucket"]["S"] == BUCKET
    logs = boto3.client("logs", endpoint_url=info.endpoint_url)
    group = "/aws/lambda/serverless-data-processor"

    def messages() -> list[str]:
        return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]

    wait_for(lambda: any(m.startswith("REPORT") for m in messages()), 30, "the REPORT line")
    text = "\n".join(messages())
    assert "START RequestId:" in text and "END RequestId:" in text
    assert "incoming/report 2026+é.csv" in text  # the handler's JSON line, readable
    assert (
        logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 14
    )

    result = local_cli("down", "--local", "--yes", "--delete-data", "--json")
    assert result.exit_code == 0, result.stderr
    assert boto3.client("s3", endpoint_url=info.endpoint_url).list_buckets()["Buckets"] == []
    assert (
        boto3.client("lambda", endpoint_url=info.endpoint_url).list_functions()["Functions"] == []
    )
    assert dynamodb.list_tables()["TableNames"] == []


def test_local_start_twice_is_one_server_and_stop_leaves_nothing(cli, runtime, tmp_path):
    runtime.pipectl_home = tmp_path / "own-home"
    first = cli("local", "start", "--json", "--port", str(free_port()))
    assert first.exit_code == 0, first.stderr
    second = cli("local", "start", "--json")
    pid = json.loads(first.stdout)["pid"]
    assert json.loads(second.stdout)["pid"] == pid
    assert json.loads(second.stdout)["state"] == "already running"
    status = cli("local", "status", "--json")
    assert status.exit_code == 0 and json.loads(status.stdout)["running"] is True
    assert cli("local", "stop").exit_code == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    status = cli("local", "status", "--json")
    assert status.exit_code == 1 and json.loads(status.stdout) == {"running": False}
