"""Helpers for the embedded-emulator tests (a module of its own: `conftest` is not a unique name
to import from when other test directories have one too)."""

from __future__ import annotations

import io
import json
import os
import socket
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipectl.resources.role import TRUST_POLICY

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_zip(files: dict[str, str]) -> bytes:
    """A zip with fixed timestamps: the same files always give the same bytes (and CodeSha256)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def wait_for(check: Callable[[], Any], timeout_s: float = 30, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def log_messages(logs: Any, group: str) -> list[str]:
    """Every message in every stream of `group`."""
    messages = []
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(
            logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
        messages += [event["message"] for event in events]
    return messages


class Aws:
    """boto3 clients for the emulator with dummy credentials, and helpers to deploy functions."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=REGION,
        )
        self._role_arn = ""

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def role_arn(self) -> str:
        if not self._role_arn:
            iam = self.client("iam")
            role = iam.create_role(
                RoleName="pipectl-test-role", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
            )
            self._role_arn = role["Role"]["Arn"]
        return self._role_arn

    def create_function(
        self, name: str, source: str, timeout_s: int = 10, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A python3.12 function `app.lambda_handler` whose app.py is `source`."""
        return self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role_arn(),
            Handler="app.lambda_handler",
            Code={"ZipFile": make_zip({"app.py": source})},
            Timeout=timeout_s,
            MemorySize=128,
            Environment={"Variables": env or {}},
        )


def process_gone(pid: int) -> bool:
    """Not running: no such process, or a zombie waiting for its reaper."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
