"""Configuration: the YAML schema, loading, validation and defaults, resolved into a Spec.

The schema is declared once, as frozen pydantic dataclasses: each field's type, default and rule
live on the field. pydantic (which Typer already imports for option conversion) does the checking;
`config_error` turns its first complaint into pipectl's one-line "key: problem" + "fix: ..." form.
Everything here runs before the first AWS call, so bad input costs the user nothing but a message.
"""

import dataclasses
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)
from pydantic import ValidationError as _ValidationError
from pydantic.dataclasses import dataclass

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
RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13")
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653)  # fmt: skip
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


# Field rules: each returns None when the value is fine, else a phrase completing "`key` ...". ---


def rule(check: Callable[[Any], str | None]) -> AfterValidator:
    """A pydantic validator from one of pipectl's checks (names.py and the ones below)."""

    def validate(value: Any) -> Any:
        problem = check(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


def in_range(low: int, high: int, unit: str = "") -> AfterValidator:
    suffix = f" {unit}" if unit else ""
    return rule(
        lambda value: (
            None
            if low <= value <= high
            else f"is {value}; must be between {low} and {high}{suffix}"
        )
    )


def one_of(choices: tuple[Any, ...]) -> AfterValidator:
    shown = ", ".join(str(c) for c in choices)
    return rule(lambda value: None if value in choices else f"is {value!r}; allowed: {shown}")


def check_region(region: str | None) -> str | None:
    if region is None or REGION_PATTERN.match(region):
        return None
    return f"{region!r} is not an AWS region name (e.g. us-east-1, eu-west-2)"


def check_events(events: tuple[str, ...]) -> str | None:
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


def check_price(value: float | None) -> str | None:
    if value is None or (math.isfinite(value) and value >= 0):
        return None
    return f"is {value}; a price must be a number of US dollars, 0 or more"


def int_as_float(value: Any) -> Any:
    """YAML reads `1` as an int; a price may be written without a decimal point."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def none_as(default: Any) -> BeforeValidator:
    """`key: null` (or an empty section) in YAML means the default."""
    return BeforeValidator(lambda value: default if value is None else value)


def list_as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def optional(check: Callable[[str], str | None]) -> AfterValidator:
    """A rule for a field that may be null (null is always fine)."""
    return rule(lambda value: None if value is None else check(value))


# The schema ---------------------------------------------------------------------------------

SCHEMA_CONFIG = ConfigDict(extra="forbid", frozen=True)


@dataclass(config=SCHEMA_CONFIG)
class BucketSpec:
    name: Annotated[StrictStr | None, optional(check_bucket_name)] = None  # default: per account
    versioning: StrictBool = False
    enforce_tls: StrictBool = True


@dataclass(config=SCHEMA_CONFIG)
class TableSpec:
    name: Annotated[StrictStr, rule(check_table_name)] = "ProcessedResults"
    partition_key: Annotated[StrictStr, rule(check_attribute_name)] = "file_name"


@dataclass(config=SCHEMA_CONFIG)
class FunctionSpec:
    name: Annotated[StrictStr, rule(check_function_name)] = "serverless-data-processor"
    runtime: Annotated[StrictStr, one_of(RUNTIMES)] = "python3.12"
    memory_mb: Annotated[StrictInt, in_range(128, 10240, "MB")] = 128
    timeout_s: Annotated[StrictInt, in_range(1, 900, "seconds")] = 30
    log_retention_days: Annotated[StrictInt, one_of(RETENTION_DAYS)] = 14
    source: StrictStr | None = None  # a folder holding app.py; default: the bundled handler
    max_retry_attempts: Annotated[StrictInt, in_range(0, 2)] = 2
    max_event_age_s: Annotated[StrictInt, in_range(60, 21600, "s")] = 21600
    on_failure_queue: StrictBool = False


@dataclass(config=SCHEMA_CONFIG)
class RoleSpec:
    mode: Annotated[StrictStr, one_of(("auto", "existing", "create"))] = "auto"
    name: Annotated[StrictStr | None, optional(check_role_name)] = None


@dataclass(config=SCHEMA_CONFIG)
class TriggerSpec:
    events: Annotated[tuple[StrictStr, ...], BeforeValidator(list_as_tuple), rule(check_events)] = (
        "s3:ObjectCreated:*",
    )
    prefix: Annotated[StrictStr, none_as(""), rule(check_filter)] = ""
    suffix: Annotated[StrictStr, none_as(""), rule(check_filter)] = ""


Price = Annotated[StrictFloat | None, BeforeValidator(int_as_float), rule(check_price)]


@dataclass(config=SCHEMA_CONFIG)
class PricingSpec:
    """Prices for `pipectl stats` (USD); null keeps pipectl's dated table (pipectl/pricing.py)."""

    lambda_gb_second: Price = None
    lambda_requests_per_million: Price = None
    dynamodb_write_units_per_million: Price = None


def section(cls: type) -> Any:
    """A section of the file; `section: null` (or no keys) means all its defaults."""
    return Annotated[cls, none_as({})]


@dataclass(config=SCHEMA_CONFIG)
class Spec:
    """The desired pipeline. The bucket's default name needs the account: `with_bucket_name`."""

    pipeline: Annotated[StrictStr, rule(check_pipeline_name)] = "serverless-data"
    region: Annotated[StrictStr | None, rule(check_region)] = None
    bucket: section(BucketSpec) = BucketSpec()
    table: section(TableSpec) = TableSpec()
    function: section(FunctionSpec) = FunctionSpec()
    role: section(RoleSpec) = RoleSpec()
    trigger: section(TriggerSpec) = TriggerSpec()
    pricing: section(PricingSpec) = PricingSpec()

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

    def with_bucket_name(self, name: str) -> "Spec":
        return dataclasses.replace(self, bucket=dataclasses.replace(self.bucket, name=name))


def cross_field_problems(spec: Spec) -> list[tuple[str, str | None]]:
    """Rules that span fields: (key, problem or None)."""
    checks: list[tuple[str, str | None]] = []
    if spec.role.mode == "existing" and not spec.role.name:
        checks.append(("role.name", "is required when role.mode is existing"))
    if spec.function.on_failure_queue:
        checks.append(("function.name", check_queue_name(spec.queue_name)))
    checks.append(("pipeline", check_role_name(spec.created_role_name)))
    return checks


# Loading ------------------------------------------------------------------------------------


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
    """Validate a config mapping against the schema and the services' naming rules."""
    from pydantic import TypeAdapter

    reject_secrets(data, source)
    try:
        spec = TypeAdapter(Spec).validate_python(data)
    except _ValidationError as exc:
        raise config_error(exc, source) from None
    for key, problem in cross_field_problems(spec):
        if problem:
            raise UsageError(f"{source}: `{key}` {problem}", f"fix `{key}` in {source}")
    return spec


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


# pydantic's complaint -> pipectl's message --------------------------------------------------

TYPE_WORDS = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    tuple: "a list",
}


def config_error(exc: _ValidationError, source: str) -> UsageError:
    """The first problem pydantic found, as `source: `key` problem` and a fix."""
    error = exc.errors(include_url=False)[0]
    loc = [str(part) for part in error["loc"]]
    key = key_path(loc)
    kind, value = error["type"], error.get("input")
    if kind in {"unexpected_keyword_argument", "extra_forbidden"}:
        known = ", ".join(sorted(field_names(loc[:-1])))
        return UsageError(f"{source}: unknown key `{key}`", f"known keys here: {known}")
    if kind == "value_error":
        problem = str(error.get("ctx", {}).get("error", error["msg"]))
        return UsageError(f"{source}: `{key}` {problem}", f"fix `{key}` in {source}")
    if kind in {"dataclass_type", "dataclass_exact_type"}:
        return UsageError(
            f"{source}: `{key}` must be a mapping, got {describe(value)}",
            f"write `{loc[-1]}:` followed by indented keys",
        )
    return UsageError(
        f"{source}: `{key}` must be {expected_type(loc)}, got {describe(value)}",
        "see config.example.yaml",
    )


def key_path(loc: list[str]) -> str:
    """("trigger", "events", "0") -> trigger.events[0]"""
    text = ""
    for part in loc:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def field_type(loc: list[str]) -> Any:
    """The annotation of the field at `loc` (Spec itself for an empty loc)."""
    current: Any = Spec
    for part in loc:
        if part.isdigit():  # an item of a tuple field
            current = next(iter(get_args(strip_annotated(current))), Any)
            continue
        fields = {f.name: f for f in dataclasses.fields(strip_annotated(current))}
        current = fields[part].type
    return current


def strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def field_names(loc: list[str]) -> list[str]:
    return [f.name for f in dataclasses.fields(strip_annotated(field_type(loc)))]


def expected_type(loc: list[str]) -> str:
    annotation = strip_annotated(field_type(loc))
    options = get_args(annotation) if get_origin(annotation) not in {None, tuple} else ()
    members = [strip_annotated(o) for o in options] or [annotation]
    nullable = type(None) in members
    words = [TYPE_WORDS.get(get_origin(m) or m, "a value") for m in members if m is not type(None)]
    return " or ".join(words) + (" or null" if nullable else "")


def describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"


def resolve_region(spec: Spec, flag: str | None, fallback: str | None) -> str:
    """--region, then the config's region, then boto3's own (env/profile), then us-east-1."""
    region = flag or spec.region or fallback or DEFAULT_REGION
    problem = check_region(region)
    if problem:
        source = "--region" if flag else ("region" if spec.region else "AWS_REGION / profile")
        raise UsageError(f"`{source}` {problem}", "pass a valid --region")
    return region
