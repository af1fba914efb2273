"""Configuration: the YAML schema, loading, validation and defaults, resolved into a Spec.

Everything here runs before the first AWS call, so bad input costs the user nothing but a message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipectl.errors import UsageError
from pipectl.names import (
    check_bucket_name,
    check_function_name,
    check_pipeline_name,
    check_queue_name,
    check_role_name,
    check_table_name,
)

DEFAULT_CONFIG_FILE = "pipectl.yaml"
DEFAULT_REGION = "us-east-1"
LAB_ROLES = ("LabRole", "VocLabsRole", "AWSAcademyRole")
ROLE_MODES = ("auto", "existing", "create")
RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13")
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
S3_OBJECT_CREATED_EVENTS = (
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
)
S3_OTHER_EVENTS = (
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
)
S3_EVENTS = S3_OBJECT_CREATED_EVENTS + S3_OTHER_EVENTS
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
# Keys that only ever hold credentials; a config file is no place for them.
SECRET_KEYS = {
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "access_key",
    "secret_key",
    "secret_access_key",
    "session_token",
    "password",
    "credentials",
}
ACCESS_KEY_PATTERN = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")


@dataclass(frozen=True)
class BucketSpec:
    name: str | None = None
    versioning: bool = False
    enforce_tls: bool = True


@dataclass(frozen=True)
class TableSpec:
    name: str = "ProcessedResults"
    partition_key: str = "file_name"


@dataclass(frozen=True)
class FunctionSpec:
    name: str = "serverless-data-processor"
    runtime: str = "python3.12"
    memory_mb: int = 128
    timeout_s: int = 30
    log_retention_days: int = 14
    source: str | None = None  # a folder holding app.py; default: the handler bundled with pipectl
    max_retry_attempts: int = 2
    max_event_age_s: int = 21600
    on_failure_queue: bool = False


@dataclass(frozen=True)
class RoleSpec:
    mode: str = "auto"
    name: str | None = None


@dataclass(frozen=True)
class TriggerSpec:
    events: tuple[str, ...] = ("s3:ObjectCreated:*",)
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class Spec:
    """The desired pipeline. Names that depend on the account are filled by `with_account`."""

    pipeline: str = "serverless-data"
    region: str | None = None
    bucket: BucketSpec = BucketSpec()
    table: TableSpec = TableSpec()
    function: FunctionSpec = FunctionSpec()
    role: RoleSpec = RoleSpec()
    trigger: TriggerSpec = TriggerSpec()

    @property
    def created_role_name(self) -> str:
        """The role pipectl creates when it must (role.mode create, or auto with no lab role)."""
        if self.role.mode == "create" and self.role.name:
            return self.role.name
        return f"pipectl-{self.pipeline}-lambda"

    @property
    def queue_name(self) -> str:
        return f"{self.function.name}-failures"

    @property
    def tags(self) -> dict[str, str]:
        return {"managed-by": "pipectl", "pipectl-pipeline": self.pipeline}

    def default_bucket_name(self, account_id: str, region: str) -> str:
        return f"serverless-data-input-{account_id}-{region}"

    def with_bucket_name(self, name: str) -> Spec:
        return replace(self, bucket=replace(self.bucket, name=name))


SCHEMA: dict[str, Any] = {
    "pipeline": str,
    "region": (str, type(None)),
    "bucket": {"name": (str, type(None)), "versioning": bool, "enforce_tls": bool},
    "table": {"name": str, "partition_key": str},
    "function": {
        "name": str,
        "runtime": str,
        "memory_mb": int,
        "timeout_s": int,
        "log_retention_days": int,
        "source": (str, type(None)),
        "max_retry_attempts": int,
        "max_event_age_s": int,
        "on_failure_queue": bool,
    },
    "role": {"mode": str, "name": (str, type(None))},
    "trigger": {"events": list, "prefix": (str, type(None)), "suffix": (str, type(None))},
}
SECTIONS = {
    "bucket": BucketSpec,
    "table": TableSpec,
    "function": FunctionSpec,
    "role": RoleSpec,
    "trigger": TriggerSpec,
}


def find_config_file(explicit: str | None) -> Path | None:
    """--config wins, then $PIPECTL_CONFIG, then ./pipectl.yaml when present, else none."""
    chosen = explicit or os.environ.get("PIPECTL_CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise UsageError(
                f"config file {path} does not exist",
                "run `pipectl init` to write one, or pass --config PATH",
            )
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_spec(path: Path | None) -> Spec:
    """Read and validate a config file (None: built-in defaults)."""
    if path is None:
        return Spec()
    return parse_spec(read_yaml(path), str(path))


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}", "check the path") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UsageError(
            f"{path}: YAML syntax error{where}: {problem}",
            "fix the YAML (indentation, quotes, colons)",
        ) from None
    if data is None:
        raise UsageError(
            f"{path} is empty", "fill it in (see config.example.yaml) or run `pipectl init --force`"
        )
    if not isinstance(data, dict):
        raise UsageError(
            f"{path}: the top level must be a mapping of keys, got {type(data).__name__}",
            "see config.example.yaml",
        )
    return data


def parse_spec(data: dict[str, Any], source: str = "config") -> Spec:
    """Validate a config mapping against SCHEMA and the services' naming rules."""
    reject_secrets(data, source)
    check_shape(data, SCHEMA, "", source)
    sections = {
        key: SECTIONS[key](**normalise_section(key, data[key] or {}))
        for key in SECTIONS
        if key in data
    }
    spec = Spec(
        pipeline=data.get("pipeline", Spec.pipeline),
        region=data.get("region"),
        **sections,
    )
    check_values(spec, source)
    return spec


def normalise_section(key: str, values: dict[str, Any]) -> dict[str, Any]:
    if key == "trigger":
        values = dict(values)
        if "events" in values:
            values["events"] = tuple(values["events"])
        for field in ("prefix", "suffix"):
            if values.get(field) is None and field in values:
                values[field] = ""
    return values


def reject_secrets(data: Any, source: str, path: str = "") -> None:
    """A config file is often committed or pasted; credentials must come from a profile or env."""
    hint = (
        "remove it; credentials belong in ~/.aws/credentials, a --profile or environment variables"
    )
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower() in SECRET_KEYS:
                raise UsageError(f"{source}: `{here}` looks like a credential", hint)
            reject_secrets(value, source, here)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            reject_secrets(value, source, f"{path}[{index}]")
    elif isinstance(data, str) and ACCESS_KEY_PATTERN.search(data):
        raise UsageError(f"{source}: `{path}` contains an AWS access key id", hint)


def check_shape(data: dict[str, Any], schema: dict[str, Any], prefix: str, source: str) -> None:
    for key, value in data.items():
        here = f"{prefix}{key}"
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise UsageError(f"{source}: unknown key `{here}`", f"known keys here: {known}")
        expected = schema[key]
        if isinstance(expected, dict):
            if value is None:
                continue
            if not isinstance(value, dict):
                raise UsageError(
                    f"{source}: `{here}` must be a mapping, got {describe(value)}",
                    f"write `{key}:` followed by indented keys",
                )
            check_shape(value, expected, f"{here}.", source)
        elif not is_instance(value, expected):
            raise UsageError(
                f"{source}: `{here}` must be {type_name(expected)}, got {describe(value)}",
                "see config.example.yaml",
            )


def is_instance(value: Any, expected: type | tuple[type, ...]) -> bool:
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in types:
        return False  # YAML `yes` must not pass as a number
    return isinstance(value, types)


def type_name(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}
    parts = [names.get(t, "null") for t in types if t is not type(None)]
    suffix = " or null" if type(None) in types else ""
    return " or ".join(parts) + suffix


def describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"


def check_values(spec: Spec, source: str) -> None:
    """Each service's naming rules and value ranges, with the key's path in the message."""
    checks = [
        ("pipeline", check_pipeline_name(spec.pipeline)),
        ("table.name", check_table_name(spec.table.name)),
        ("table.partition_key", check_attribute_name(spec.table.partition_key)),
        ("function.name", check_function_name(spec.function.name)),
        ("region", check_region(spec.region)),
        ("role.mode", check_choice(spec.role.mode, ROLE_MODES)),
        ("function.runtime", check_choice(spec.function.runtime, RUNTIMES)),
        ("function.memory_mb", check_range(spec.function.memory_mb, 128, 10240, "MB")),
        ("function.timeout_s", check_range(spec.function.timeout_s, 1, 900, "seconds")),
        (
            "function.log_retention_days",
            check_choice(spec.function.log_retention_days, RETENTION_DAYS),
        ),
        ("function.max_retry_attempts", check_range(spec.function.max_retry_attempts, 0, 2, "")),
        ("function.max_event_age_s", check_range(spec.function.max_event_age_s, 60, 21600, "s")),
        ("trigger.events", check_events(spec.trigger.events)),
        ("trigger.prefix", check_filter(spec.trigger.prefix)),
        ("trigger.suffix", check_filter(spec.trigger.suffix)),
    ]
    if spec.bucket.name is not None:
        checks.append(("bucket.name", check_bucket_name(spec.bucket.name)))
    if spec.role.name is not None:
        checks.append(("role.name", check_role_name(spec.role.name)))
    if spec.role.mode == "existing" and not spec.role.name:
        checks.append(("role.name", "is required when role.mode is existing"))
    if spec.function.on_failure_queue:
        checks.append(("function.name", check_queue_name(spec.queue_name)))
    checks.append(("pipeline", check_role_name(spec.created_role_name)))
    for key, problem in checks:
        if problem:
            raise UsageError(f"{source}: `{key}` {problem}", f"fix `{key}` in {source}")


def check_region(region: str | None) -> str | None:
    if region is None or REGION_PATTERN.match(region):
        return None
    return f"{region!r} is not an AWS region name (e.g. us-east-1, eu-west-2)"


def check_choice(value: Any, choices: tuple[Any, ...]) -> str | None:
    if value in choices:
        return None
    shown = ", ".join(str(c) for c in choices)
    return f"is {value!r}; allowed: {shown}"


def check_range(value: int, low: int, high: int, unit: str) -> str | None:
    if low <= value <= high:
        return None
    return f"is {value}; must be between {low} and {high}{' ' + unit if unit else ''}"


def check_events(events: tuple[Any, ...]) -> str | None:
    if not events:
        return "is empty; list at least one event, e.g. s3:ObjectCreated:*"
    for event in events:
        if event not in S3_EVENTS:
            return f"has unknown event {event!r}; use e.g. s3:ObjectCreated:*"
    return None


def check_filter(value: str) -> str | None:
    if len(value.encode("utf-8")) > 1024:
        return "is longer than 1024 bytes (the S3 object key limit)"
    return None


def check_attribute_name(name: str) -> str | None:
    if 1 <= len(name.encode("utf-8")) <= 255:
        return None
    return "must be 1 to 255 bytes long (DynamoDB key attribute name)"


def resolve_region(spec: Spec, flag: str | None, fallback: str | None) -> str:
    """--region, then the config's region, then boto3's own (env/profile), then us-east-1."""
    region = flag or spec.region or fallback or DEFAULT_REGION
    problem = check_region(region)
    if problem:
        source = "--region" if flag else ("region" if spec.region else "AWS_REGION / profile")
        raise UsageError(f"`{source}` {problem}", "pass a valid --region")
    return region
