"""The bad-input matrix: each case exits 2 with a short message naming the key or flag and the fix,
no traceback, and makes zero AWS calls."""

import pytest

CONFIG_CASES = {
    "bucket name uppercase": ("bucket:\n  name: My_Bucket\n", "bucket.name"),
    "bucket name too short": ("bucket:\n  name: ab\n", "bucket.name"),
    "bucket name ip address": ("bucket:\n  name: 192.168.1.10\n", "bucket.name"),
    "bucket name double dot": ("bucket:\n  name: my..bucket\n", "bucket.name"),
    "bucket name reserved prefix": ("bucket:\n  name: xn--bucket\n", "bucket.name"),
    "bucket name trailing hyphen": ("bucket:\n  name: bucket-\n", "bucket.name"),
    "table name too short": ("table:\n  name: ab\n", "table.name"),
    "table name bad char": ("table:\n  name: 'Results!'\n", "table.name"),
    "function name too long": ("function:\n  name: " + "f" * 65 + "\n", "function.name"),
    "function name bad char": ("function:\n  name: my.function\n", "function.name"),
    "role name bad char": ("role:\n  name: 'Lab Role'\n", "role.name"),
    "role name too long": ("role:\n  name: " + "r" * 65 + "\n", "role.name"),
    "role mode unknown": ("role:\n  mode: borrow\n", "role.mode"),
    "existing without name": ("role:\n  mode: existing\n", "role.name"),
    "unknown top key": ("buckets:\n  name: x\n", "buckets"),
    "unknown nested key": ("function:\n  memory: 256\n", "function.memory"),
    "wrong type int": ("function:\n  memory_mb: lots\n", "function.memory_mb"),
    "wrong type bool": ("bucket:\n  versioning: 1\n", "bucket.versioning"),
    "bool as number": ("function:\n  timeout_s: yes\n", "function.timeout_s"),
    "section not a mapping": ("function: serverless\n", "function"),
    "yaml syntax error": ("function:\n  name: [unclosed\n", "line"),
    "yaml tab indentation": ("function:\n\tname: x\n", "line"),
    "top level is a list": ("- a\n- b\n", "top level"),
    "empty config file": ("", "empty"),
    "unknown event": ("trigger:\n  events: ['s3:ObjectCreated:Upload']\n", "trigger.events"),
    "empty events": ("trigger:\n  events: []\n", "trigger.events"),
    "negative timeout": ("function:\n  timeout_s: -5\n", "function.timeout_s"),
    "timeout over 900": ("function:\n  timeout_s: 901\n", "function.timeout_s"),
    "memory too small": ("function:\n  memory_mb: 64\n", "function.memory_mb"),
    "memory too large": ("function:\n  memory_mb: 20000\n", "function.memory_mb"),
    "retention not allowed": (
        "function:\n  log_retention_days: 10\n",
        "function.log_retention_days",
    ),
    "runtime unsupported": ("function:\n  runtime: python2.7\n", "function.runtime"),
    "architecture unknown": ("function:\n  architecture: arm\n", "function.architecture"),
    "retry attempts out of range": (
        "function:\n  max_retry_attempts: 3\n",
        "function.max_retry_attempts",
    ),
    "event age out of range": ("function:\n  max_event_age_s: 30\n", "function.max_event_age_s"),
    "bad region": ("region: moon-base-1\n", "region"),
    "pipeline bad char": ("pipeline: 'my pipeline'\n", "pipeline"),
    "credentials key": ("aws_secret_access_key: abc\n", "aws_secret_access_key"),
    "access key value": ("pipeline: AKIAABCDEFGHIJKLMNOP\n", "access key"),
    "missing source dir": ("function:\n  source: /nonexistent/handler\n", "function.source"),
    "negative price": ("pricing:\n  lambda_gb_second: -1\n", "pricing.lambda_gb_second"),
    "price not a number": (
        "pricing:\n  dynamodb_write_units_per_million: cheap\n",
        "pricing.dynamodb_write_units_per_million",
    ),
    "unknown price": ("pricing:\n  s3_put_per_thousand: 5\n", "pricing.s3_put_per_thousand"),
}

FLAG_CASES = {
    "local with endpoint": (["up", "--local", "--endpoint-url", "http://127.0.0.1:1"], "--local"),
    "local with profile": (["up", "--local", "--profile", "dev"], "--profile"),
    "endpoint not a url": (["up", "--endpoint-url", "localhost:4566"], "--endpoint-url"),
    "bad region flag": (["up", "--region", "EU_WEST"], "--region"),
    "role and create-role": (["up", "--role", "LabRole", "--create-role"], "--role"),
    "role flag bad name": (["up", "--role", "Lab Role"], "--role"),
    "missing config file": (["up", "--config", "/nonexistent.yaml"], "does not exist"),
    "unknown flag": (["up", "--colour"], "--colour"),
    "down without tty or yes": (["down", "--endpoint-url", "http://127.0.0.1:1"], None),
    "malformed since": (["logs", "--since", "yesterday"], "--since"),
    "zero verify timeout": (["verify", "--timeout", "0"], "--timeout"),
    "local with endpoint on logs": (["logs", "--local", "--endpoint-url", "http://x:1"], "--local"),
    "malformed since on stats": (["stats", "--since", "an hour"], "--since"),
    "replay without tty or yes": (["replay", "--endpoint-url", "http://127.0.0.1:1"], "--yes"),
    "replay max zero": (["replay", "--yes", "--max", "0"], "--max"),
    "replay max not a number": (["replay", "--dry-run", "--max", "all"], "--max"),
    "replay local with endpoint": (
        ["replay", "--yes", "--local", "--endpoint-url", "http://x:1"],
        "--local",
    ),
}


def assert_clean_rejection(result, runtime, needle):
    output = result.stderr
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    if needle:
        assert needle in output
    assert runtime.last_aws is None or runtime.last_aws.calls.calls == []


@pytest.mark.parametrize("text, needle", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_bad_config(cli, runtime, workdir, text, needle):
    (workdir / "pipectl.yaml").write_text(text)
    result = cli("up", "--endpoint-url", "http://127.0.0.1:1")
    assert_clean_rejection(result, runtime, needle)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2, result.stderr
    assert "fix:" in result.stderr


@pytest.mark.parametrize("args, needle", FLAG_CASES.values(), ids=FLAG_CASES.keys())
def test_bad_flags(cli, runtime, args, needle):
    result = cli(*args)
    assert_clean_rejection(result, runtime, needle)


def test_down_without_terminal_refuses_before_deleting(cli, runtime, moto_url):
    """The confirmation guard: no tty and no --yes → exit 2 before any AWS call."""
    assert cli("up", "--endpoint-url", moto_url).exit_code == 0
    runtime.last_aws = None
    result = cli("down", "--endpoint-url", moto_url)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert runtime.last_aws is None
