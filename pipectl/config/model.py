"""Configuration: the YAML schema, loading, validation and defaults, resolved into a Spec.

The schema is declared once, as frozen dataclasses: each field's type, default and rule live on
the field. `pipectl/config/schema.py` does the checking (pydantic's names and strict behaviour,
without its ~150 ms import and schema build); `config_error` turns its first complaint into
pipectl's one-line "key: problem" + "fix: ..." form.
Everything here runs before the first AWS call, so bad input costs the user nothing but a message.
"""

import dataclasses
import os
import re
from pathlib import Path
from typing import Annotated, Any

from pipectl.config.errors import config_error
from pipectl.config.rules import (
    check_attribute_name,
    check_events,
    check_filter,
    check_price,
    check_region,
    in_range,
    int_as_float,
    list_as_tuple,
    none_as,
    one_of,
    optional,
    rule,
)
from pipectl.config.schema import (
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    dataclass,
    validate,
)
from pipectl.config.schema import ValidationError as _ValidationError
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
SECURITY_LEVELS = ("standard", "strict")  # strict: the settings listed in the README's table
RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13")
ARCHITECTURES = ("x86_64", "arm64")  # Lambda's instruction set architectures
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653)  # fmt: skip
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
    architecture: Annotated[StrictStr, one_of(ARCHITECTURES)] = "x86_64"
    memory_mb: Annotated[StrictInt, in_range(128, 10240, "MB")] = 128
    timeout_s: Annotated[StrictInt, in_range(1, 900, "seconds")] = 30
    log_retention_days: Annotated[StrictInt, one_of(RETENTION_DAYS)] = 14
    source: StrictStr | None = None  # folder with app.py (+ requirements.txt); default: bundled
    max_retry_attempts: Annotated[StrictInt, in_range(0, 2)] = 2
    max_event_age_s: Annotated[StrictInt, in_range(60, 21600, "s")] = 21600
    on_failure_queue: StrictBool = True  # false: failed events are dropped after the retries


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
    """Prices for `pipectl stats` (USD); null keeps pipectl's dated table
    (pipectl/stats/pricing.py)."""

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
    security: Annotated[StrictStr, one_of(SECURITY_LEVELS)] = "standard"
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

    @property
    def strict(self) -> bool:
        return self.security == "strict"

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
    reject_secrets(data, source)
    try:
        spec = validate(Spec, data)
    except _ValidationError as exc:
        raise config_error(exc, source, Spec) from None
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


def resolve_region(spec: Spec, flag: str | None, fallback: str | None) -> str:
    """--region, then the config's region, then boto3's own (env/profile), then us-east-1."""
    region = flag or spec.region or fallback or DEFAULT_REGION
    problem = check_region(region)
    if problem:
        source = "--region" if flag else ("region" if spec.region else "AWS_REGION / profile")
        raise UsageError(f"`{source}` {problem}", "pass a valid --region")
    return region
