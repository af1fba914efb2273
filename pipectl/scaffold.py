"""`pipectl init --handler DIR`: a handler folder of the user's own, and `function.source` set.

The folder gets the bundled handler as a starting point, a commented requirements.txt and a
test that runs the handler against moto with an S3 event. The config file is created as
`pipectl init` would when missing; when present, only the `function.source` line changes (the
user's comments and layout stay), and the edit is checked by parsing the file before and after.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipectl.build import packaging
from pipectl.config import file as configfile
from pipectl.config.model import parse_spec, read_yaml
from pipectl.errors import UsageError

REQUIREMENTS_TEXT = """\
# Third-party packages your handler imports, one per line, in pip's format. Pin versions.
# `pipectl up` installs them into the deployment zip as manylinux wheels built for the
# function's runtime and architecture (`pipectl package` shows what goes in); a package
# without such a wheel is reported before anything is deployed.
# boto3 is part of the Lambda runtime already: leave it out.
#
# requests==2.32.3
"""

TEST_TEXT = '''\
"""Runs app.py against moto's DynamoDB with an S3 event, no AWS account needed:

    python -m pip install pytest "moto[dynamodb]" boto3
    python -m pytest
"""

import importlib
import os
import sys
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # app.py sits beside this file

TABLE = "ProcessedResults"
BUCKET = "my-input-bucket"

# An S3 ObjectCreated event as Lambda receives it: the key is URL-encoded ("red flower é.jpg").
SAMPLE_EVENT = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-28T12:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.10"},
            "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "abc"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "pipectl-serverless-data",
                "bucket": {
                    "name": BUCKET,
                    "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                    "arn": "arn:aws:s3:::" + BUCKET,
                },
                "object": {
                    "key": "incoming/red+flower+%C3%A9.jpg",
                    "size": 1024,
                    "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                    "sequencer": "0055AED6DCD90281E5",
                },
            },
        }
    ]
}


@pytest.fixture
def app(monkeypatch):
    """app.py with a fresh module state, TABLE_NAME set, and moto standing in for AWS."""
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        import app as module

        yield importlib.reload(module)


def test_an_uploaded_file_becomes_an_item(app):
    app.lambda_handler(SAMPLE_EVENT, SimpleNamespace(aws_request_id="test-request"))
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"file_name": {"S": "incoming/red flower é.jpg"}}
    )["Item"]
    assert item["status"]["S"] == "Processed"
    assert item["bucket"]["S"] == BUCKET
'''

HANDLER_FILES = ("app.py", "requirements.txt", "test_app.py")
FUNCTION_LINE = re.compile(r"^function:\s*(#.*)?$")
SOURCE_LINE = re.compile(
    r"""^(?P<head>\s+source:[ \t]*)(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^#]*?)"""
    r"""(?P<tail>\s+#.*|\s*)$"""
)
PLAIN = re.compile(r"[A-Za-z0-9_.~/][A-Za-z0-9_.~/ -]*")


@dataclass(frozen=True)
class Scaffolded:
    handler: Path
    files: tuple[Path, ...]
    config: Path
    config_created: bool
    source: str


def init_handler(
    directory: Path, config: Path, force: bool = False, region: str | None = None
) -> Scaffolded:
    """Write the handler folder and point `function.source` at it. Everything is checked first:
    nothing is written unless all of it can be."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a folder", "choose another DIR")
    taken = [name for name in HANDLER_FILES if (directory / name).exists()]
    if taken and not force:
        raise UsageError(
            f"{directory} already has {', '.join(taken)}",
            "pass --force to overwrite them, or choose another DIR",
        )
    source = source_value(directory, config)
    created = not config.exists()
    text = edited_config(config, source, region)
    files = write_files(directory)
    try:
        config.write_text(text, encoding="utf-8")
    except OSError as exc:
        problem = f"cannot write {config}: {exc.strerror}"
        raise UsageError(problem, "choose another --path") from None
    return Scaffolded(directory, files, config, created, source)


def source_value(directory: Path, config: Path) -> str:
    """function.source is read relative to the folder pipectl runs in: keep DIR as typed when
    the config sits in this folder (where pipectl finds it by default), else make it absolute."""
    if config.resolve().parent == Path.cwd().resolve() and not directory.is_absolute():
        return directory.as_posix()
    return directory.resolve().as_posix()


def write_files(directory: Path) -> tuple[Path, ...]:
    bundled = packaging.bundled_handler_dir() / packaging.HANDLER_MODULE
    contents = {
        "app.py": bundled.read_text(encoding="utf-8"),
        "requirements.txt": REQUIREMENTS_TEXT,
        "test_app.py": TEST_TEXT,
    }
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name in HANDLER_FILES:
            (directory / name).write_text(contents[name], encoding="utf-8")
    except OSError as exc:
        problem = f"cannot write {directory}: {exc.strerror}"
        raise UsageError(problem, "choose another DIR") from None
    return tuple(directory / name for name in HANDLER_FILES)


def edited_config(config: Path, source: str, region: str | None) -> str:
    """The config text with function.source set: the template for a new file, else the user's
    file with one line changed or added. Refused when the result would differ in anything else."""
    if config.exists():
        before = read_yaml(config)
        text = config.read_text(encoding="utf-8")
    else:
        text = configfile.render(region=region or configfile.DEFAULT_REGION)
        before = _parse(text)
    after_text = with_source(text, source, config)
    expected = copy.deepcopy(before)
    section = expected.get("function")
    expected["function"] = {**(section if isinstance(section, dict) else {}), "source": source}
    after = _parse(after_text)
    if after != expected:
        raise UsageError(
            f"cannot edit {config} safely", f"set `function.source: {source}` in it by hand"
        )
    parse_spec(after, str(config))  # never leave a file pipectl would reject
    return after_text


def with_source(text: str, source: str, config: Path) -> str:
    lines = text.splitlines(keepends=True)
    value = yaml_scalar(source)
    start = next((i for i, line in enumerate(lines) if FUNCTION_LINE.match(line)), None)
    if start is None:
        if any(line.startswith("function:") for line in lines):
            raise UsageError(
                f"{config}: `function` is written on one line",
                f"set `function.source: {source}` in it by hand",
            )
        ending = "" if not lines or lines[-1].endswith("\n") else "\n"
        return text + ending + f"function:\n  source: {value}\n"
    indent = None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            break  # the next top-level key: the section has no source line
        indent = indent or line[: len(line) - len(line.lstrip())]  # the section's own keys
        match = SOURCE_LINE.match(line.rstrip("\n"))
        if match and match.group("head").startswith(indent + "source"):
            newline = "\n" if line.endswith("\n") else ""
            lines[i] = f"{match.group('head')}{aligned(match, value)}{newline}"
            return "".join(lines)
    lines.insert(start + 1, f"{indent or '  '}source: {value}\n")
    return "".join(lines)


def aligned(match: re.Match[str], value: str) -> str:
    """The new value, with its comment kept in the same column where there is room."""
    tail = match.group("tail")
    comment = tail.lstrip()
    if not comment:
        return value
    column = len(match.group("value")) + len(tail) - len(comment)
    return value + " " * max(1, column - len(value)) + comment


def yaml_scalar(value: str) -> str:
    """A plain YAML scalar when that reads back as the same string, else a quoted one."""
    if PLAIN.fullmatch(value) and _parse(f"v: {value}") == {"v": value}:
        return value
    return json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar


def _parse(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)
