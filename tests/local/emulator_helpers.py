"""Helpers for the embedded-emulator tests (a module of its own: `conftest` is not a unique name
to import from when other test directories have one too)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipectl.resources.role import TRUST_POLICY

REGION = "us-east-1"
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>\d+\.\d\d) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB"
    r"\tMax Memory Used: (?P<used>\d+) MB(\tInit Duration: (?P<init>\d+\.\d\d) ms)?$"
)


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
    return [message for _, _, message in log_events(logs, group)]


def log_events(logs: Any, group: str) -> list[tuple[str, int, str]]:
    """(stream, timestamp, message) of every event of `group`, stream by stream; none while
    the group does not exist."""
    try:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    events = []
    for stream in streams:
        name = stream["logStreamName"]
        response = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)
        events += [(name, e["timestamp"], e["message"]) for e in response["events"]]
    return events


@dataclass
class Logged:
    """One invocation as its log shows it: INIT_START (cold) or START, through REPORT."""

    stream: str
    request_id: str
    lines: list[str]
    started_ms: int
    ended_ms: int

    @property
    def report(self) -> re.Match[str]:
        match = REPORT.fullmatch(self.lines[-1])
        assert match and match.group("id") == self.request_id, self.lines
        return match

    @property
    def cold(self) -> bool:
        return self.lines[0].startswith("INIT_START")


def invocations(logs: Any, group: str) -> list[Logged]:
    """Every complete invocation of `group`, in the order they started; asserts each is framed
    START ... END, REPORT under one request id."""
    found, pending, opened = [], [], 0
    for stream, timestamp, message in log_events(logs, group):
        if message.startswith("INIT_START") or (message.startswith("START") and not pending):
            pending, opened = [], timestamp
        pending.append(message)
        if message.startswith("REPORT"):
            start = next(m for m in pending if m.startswith("START RequestId:"))
            request_id = start.split()[2]
            assert f"END RequestId: {request_id}" == pending[-2], pending
            found.append(Logged(stream, request_id, pending, opened, timestamp))
            pending = []
    return sorted(found, key=lambda logged: logged.started_ms)


def invoke(
    aws: Aws, name: str, payload: object = None, **kwargs: Any
) -> tuple[dict[str, Any], Any, str]:
    """(response, decoded payload, the log tail) of a RequestResponse invocation."""
    response = aws.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload or {}).encode(), LogType="Tail", **kwargs
    )
    body = json.loads(response["Payload"].read() or b"null")
    return response, body, base64.b64decode(response.get("LogResult", "")).decode()


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

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url, **kwargs)

    def role_arn(self) -> str:
        if not self._role_arn:
            iam = self.client("iam")
            role = iam.create_role(
                RoleName="pipectl-test-role", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
            )
            self._role_arn = role["Role"]["Arn"]
        return self._role_arn

    def create_function(
        self,
        name: str,
        source: str,
        timeout_s: int = 10,
        env: dict[str, str] | None = None,
        runtime: str = "python3.12",
    ) -> dict[str, Any]:
        """A function `app.lambda_handler` whose app.py is `source`."""
        return self.client("lambda").create_function(
            FunctionName=name,
            Runtime=runtime,
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
