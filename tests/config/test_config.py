import pytest
import yaml

from pipectl.config import file as configfile
from pipectl.config.model import Spec, find_config_file, load_spec, parse_spec, resolve_region
from pipectl.errors import UsageError
from pipectl.runtime import with_role_flags


def test_defaults_match_the_design():
    spec = Spec()
    assert spec.table.name == "ProcessedResults" and spec.table.partition_key == "file_name"
    assert spec.function.name == "serverless-data-processor"
    assert spec.function.runtime == "python3.12"
    assert spec.function.architecture == "x86_64"
    assert spec.trigger.events == ("s3:ObjectCreated:*",)
    assert spec.default_bucket_name("123456789012", "eu-west-1") == (
        "serverless-data-input-123456789012-eu-west-1"
    )


def test_example_file_is_what_init_writes_and_parses_to_defaults(tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "config.example.yaml"
    assert example.read_text() == configfile.render()
    spec = parse_spec(yaml.safe_load(example.read_text()))
    assert spec == Spec(region="us-east-1")


def test_init_refuses_to_overwrite_without_force(cli, workdir):
    assert cli("init").exit_code == 0
    assert (workdir / "pipectl.yaml").is_file()
    result = cli("init")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert cli("init", "--force", "--region", "eu-west-2").exit_code == 0
    assert "region: eu-west-2" in (workdir / "pipectl.yaml").read_text()


def test_config_file_lookup_order(workdir, monkeypatch):
    assert find_config_file(None) is None
    (workdir / "pipectl.yaml").write_text("pipeline: local\n")
    assert find_config_file(None).name == "pipectl.yaml"
    other = workdir / "other.yaml"
    other.write_text("pipeline: from-env\n")
    monkeypatch.setenv("PIPECTL_CONFIG", str(other))
    assert load_spec(find_config_file(None)).pipeline == "from-env"
    flag = workdir / "flag.yaml"
    flag.write_text("pipeline: from-flag\n")
    assert load_spec(find_config_file(str(flag))).pipeline == "from-flag"


def test_region_precedence():
    spec = parse_spec({"region": "eu-west-1"})
    assert resolve_region(spec, "ap-south-1", "us-west-2") == "ap-south-1"  # flag
    assert resolve_region(spec, None, "us-west-2") == "eu-west-1"  # config
    assert resolve_region(Spec(), None, "us-west-2") == "us-west-2"  # boto3 env/profile
    assert resolve_region(Spec(), None, None) == "us-east-1"  # default


def test_role_flags_override_config():
    spec = parse_spec({"role": {"mode": "create"}})
    assert with_role_flags(spec, "LabRole", False).role.name == "LabRole"
    assert with_role_flags(spec, "LabRole", False).role.mode == "existing"
    assert with_role_flags(Spec(), None, True).role.mode == "create"
    with pytest.raises(UsageError):
        with_role_flags(spec, "LabRole", True)


def test_nulls_mean_defaults():
    spec = parse_spec({"bucket": None, "trigger": {"prefix": None, "suffix": None}})
    assert spec.bucket == Spec().bucket
    assert spec.trigger.prefix == "" and spec.trigger.suffix == ""


def test_error_message_names_the_key_path():
    with pytest.raises(UsageError) as info:
        parse_spec({"function": {"memory_mb": 64}}, "pipectl.yaml")
    assert info.value.message.startswith("pipectl.yaml: `function.memory_mb`")
    assert "128" in info.value.message and "10240" in info.value.message


def test_schema_is_strict_like_the_yaml_promises():
    """The schema (pipectl/config/schema.py) takes no conversions: a bool is no number, a number no
    string; a price may be written as a whole number; a list item's problem names its index."""
    cases = {
        "function:\n  memory_mb: true\n": "`function.memory_mb` must be a whole number, got bool",
        "function:\n  memory_mb: '256'\n": "`function.memory_mb` must be a whole number, got str",
        "pipeline: 12\n": "`pipeline` must be a string, got int",
        "bucket:\n  versioning: 1\n": "`bucket.versioning` must be true or false, got int",
        "bucket: [a]\n": "`bucket` must be a mapping, got list",
        "trigger:\n  events: [s3:ObjectCreated:*, 3]\n": "`trigger.events[1]` must be a string",
        "function:\n  nmae: x\n": "unknown key `function.nmae`",
    }
    for text, expected in cases.items():
        with pytest.raises(UsageError) as info:
            parse_spec(yaml.safe_load(text), "pipectl.yaml")
        assert expected in info.value.message, (text, info.value.message)
    spec = parse_spec({"pricing": {"lambda_gb_second": 1}})
    assert spec.pricing.lambda_gb_second == 1.0 and isinstance(spec.pricing.lambda_gb_second, float)
    assert parse_spec({"trigger": {"events": ["s3:ObjectCreated:Put"]}}).trigger.events == (
        "s3:ObjectCreated:Put",
    )
