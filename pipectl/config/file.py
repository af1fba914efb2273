"""`pipectl init`: the commented starting config. config.example.yaml is this text for the
defaults (a test keeps the two identical), so the example can never drift from the schema."""

from __future__ import annotations

from pathlib import Path

from pipectl.config.model import DEFAULT_REGION, parse_spec
from pipectl.errors import UsageError

TEMPLATE = """\
# pipectl configuration. Every key is optional; shown here with its default.
pipeline: {pipeline}            # tags every resource pipectl creates
region: {region}
security: standard                    # standard | strict (README: Security levels)
bucket:
  name: null                          # default: serverless-data-input-<account-id>-<region>
  versioning: false
  enforce_tls: true                   # bucket policy denying aws:SecureTransport=false
table:
  name: ProcessedResults
  partition_key: file_name
function:
  name: serverless-data-processor
  runtime: python3.12
  architecture: x86_64                # or arm64 (Graviton); wheels are picked for it
  memory_mb: 128
  timeout_s: 30
  log_retention_days: 14
  source: null                        # app.py (+ requirements.txt) folder; default: built-in
  max_retry_attempts: 2               # async retries after a failed invocation (0-2)
  max_event_age_s: 21600              # drop events older than this (60-21600)
  on_failure_queue: true              # failed events wait in an SQS queue: `pipectl replay`
role:
  mode: auto                          # auto | existing | create
  name: null                          # auto: LabRole, VocLabsRole, AWSAcademyRole, else create
trigger:
  events: ["s3:ObjectCreated:*"]
  prefix: ""
  suffix: ""
pricing:                              # USD, for `pipectl stats`; null: pipectl's dated table
  lambda_gb_second: null              # us-east-1 x86_64: 0.0000166667 (arm64: 0.0000133334)
  lambda_requests_per_million: null   # us-east-1: 0.20
  dynamodb_write_units_per_million: null  # us-east-1 on-demand: 0.625
"""


def render(pipeline: str = "serverless-data", region: str = DEFAULT_REGION) -> str:
    return TEMPLATE.format(pipeline=pipeline, region=region)


def write_initial(
    path: Path, force: bool = False, region: str | None = None, pipeline: str = "serverless-data"
) -> Path:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", "pass --force to overwrite it")
    text = render(pipeline, region or DEFAULT_REGION)
    import yaml

    parse_spec(yaml.safe_load(text), str(path))  # never write a file pipectl would reject
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", "choose another --path") from None
    return path
