"""`pipectl --help` and `--version` must not import the AWS SDK or the emulator, and no command
imports pydantic (Typer's option conversion and the config schema go without it): correctness
tests of the lazy imports (start-up time itself is measured in benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("boto3", "botocore", "s3transfer", "moto", "pydantic")

# Runs the real console entry point in a fresh interpreter, then reports what got imported.
PROBE = """
import json, sys
args, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["pipectl", *args]
from pipectl.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({name.split(".")[0] for name in sys.modules} & watched)
import gc
report = {"code": code, "heavy": heavy, "gc_enabled": gc.isenabled()}
sys.stderr.write(json.dumps(report) + "\\n")
"""


def imported_after(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr.strip(), result
    report = json.loads(result.stderr.strip().splitlines()[-1])
    report["stdout"] = result.stdout
    return report


@pytest.mark.parametrize(
    "args", [("--help",), ("--version",), ("up", "--help"), ("local", "--help")]
)
def test_help_and_version_import_no_aws_sdk(args: tuple[str, ...]) -> None:
    report = imported_after(*args)
    assert report["code"] in (0, None), report
    assert report["stdout"].strip(), report
    assert report["heavy"] == [], f"pipectl {' '.join(args)} imported {report['heavy']}"


def test_probe_detects_an_sdk_import() -> None:
    """The probe itself works: a command that talks to AWS does import botocore."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pipectl.aws as a, sys; a.translate(Exception('x'));"
            "print('botocore' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "True", result


def test_validating_a_config_file_imports_no_pydantic(tmp_path) -> None:
    """`init` validates the file it writes with the config schema; with a --path and --region
    given, Typer converts a Path and a string option too."""
    target = tmp_path / "pipectl.yaml"
    report = imported_after("init", "--path", str(target), "--region", "eu-west-2", "--force")
    assert report["code"] in (0, None), report
    assert "region: eu-west-2" in target.read_text()
    assert "pydantic" not in report["heavy"], report


def test_an_option_typer_must_convert_is_still_converted() -> None:
    """A value that is not already of its option's type goes through Typer's own conversion."""
    report = imported_after("verify", "--timeout", "abc")
    assert report["code"] == 2, report


def test_the_console_entry_point_holds_the_garbage_collector_off_while_starting() -> None:
    """The probe runs `main` in a fresh interpreter, where nothing else turns the collector
    off (cli_edge.fewer_collections)."""
    report = imported_after("--version")
    assert report["code"] in (0, None), report
    assert report["gc_enabled"] is False, report


def test_the_garbage_collector_comes_back_after_the_pause() -> None:
    import gc

    from pipectl.cli_edge import fewer_collections

    try:
        fewer_collections(pause_s=0.01).join(timeout=10)
        assert gc.isenabled()
    finally:
        gc.enable()
