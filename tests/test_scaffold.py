"""`pipectl init --handler DIR`: the scaffolded folder (and its test, run with pytest), and
`function.source` set in pipectl.yaml without touching anything else in it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from pipectl.build import packaging
from pipectl.config import file as configfile
from pipectl.config.model import FunctionSpec, Spec, parse_spec

USER_CONFIG = """\
# my lab pipeline -- keep these notes
pipeline: lab7   # the course's name
region: eu-west-1

function:
    # four spaces here, on purpose
    memory_mb: 256
    source: old/handler     # my old code
    timeout_s: 60
role:
  name: LabRole
  mode: existing
"""


def test_scaffold_with_no_config_writes_both(cli, workdir):
    result = cli("init", "--handler", "my_handler", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["config_created"] is True
    folder = workdir / "my_handler"
    assert sorted(p.name for p in folder.iterdir()) == ["app.py", "requirements.txt", "test_app.py"]
    bundled = packaging.bundled_handler_dir() / "app.py"
    assert (folder / "app.py").read_text() == bundled.read_text()
    spec = parse_spec(yaml.safe_load((workdir / "pipectl.yaml").read_text()))
    assert spec.function.source == "my_handler"
    assert spec == Spec(region="us-east-1", function=FunctionSpec(source="my_handler"))
    text = (workdir / "pipectl.yaml").read_text()
    assert text.replace("  source: my_handler", "  source: null      ") == configfile.render()
    # The commented requirements.txt installs nothing: the folder deploys as it is.
    assert packaging.build("my_handler").packages == ()


def test_an_existing_config_changes_in_that_one_line(cli, workdir):
    (workdir / "pipectl.yaml").write_text(USER_CONFIG)
    result = cli("init", "--handler", "src/fn")
    assert result.exit_code == 0, result.stderr
    after = (workdir / "pipectl.yaml").read_text().splitlines()
    before = USER_CONFIG.splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [
        ("    source: old/handler     # my old code", "    source: src/fn          # my old code")
    ]


@pytest.mark.parametrize(
    ("config", "expected_line"),
    [
        ("pipeline: p\nfunction:\n  memory_mb: 256\nrole:\n  mode: auto\n", "  source: fn"),
        ("pipeline: p\nrole:\n  mode: auto", "  source: fn"),  # no function section, no newline
        ("function:\n  # just a comment\n\nregion: us-east-1\n", "  source: fn"),
    ],
)
def test_a_missing_source_key_is_added(cli, workdir, config, expected_line):
    (workdir / "pipectl.yaml").write_text(config)
    assert cli("init", "--handler", "fn").exit_code == 0
    text = (workdir / "pipectl.yaml").read_text()
    assert expected_line in text.splitlines()
    data = yaml.safe_load(text)
    original = yaml.safe_load(config)
    assert data.pop("function") == {**(original.pop("function", None) or {}), "source": "fn"}
    assert data == original


def test_a_path_that_needs_quotes_is_quoted(cli, workdir):
    assert cli("init", "--handler", "my handler: v2 #1").exit_code == 0
    spec = parse_spec(yaml.safe_load((workdir / "pipectl.yaml").read_text()))
    assert spec.function.source == "my handler: v2 #1"


def test_a_config_written_inline_is_left_alone(cli, workdir):
    (workdir / "pipectl.yaml").write_text("function: {memory_mb: 256}\n")
    result = cli("init", "--handler", "fn")
    assert result.exit_code == 2
    assert "set `function.source: fn` in it by hand" in result.stderr
    assert (workdir / "pipectl.yaml").read_text() == "function: {memory_mb: 256}\n"
    assert not (workdir / "fn").exists()  # nothing is written unless all of it can be


def test_existing_handler_files_need_force(cli, workdir):
    (workdir / "fn").mkdir()
    (workdir / "fn" / "app.py").write_text("# my work\n")
    result = cli("init", "--handler", "fn")
    assert result.exit_code == 2 and "already has app.py" in result.stderr
    assert "--force" in result.stderr
    assert (workdir / "fn" / "app.py").read_text() == "# my work\n"
    assert not (workdir / "pipectl.yaml").exists()
    assert cli("init", "--handler", "fn", "--force").exit_code == 0
    assert (workdir / "fn" / "app.py").read_text() != "# my work\n"


def test_the_scaffolded_test_passes_and_catches_a_broken_handler(cli, workdir):
    """The user runs it with pytest and moto; a handler that writes nothing makes it fail."""
    assert cli("init", "--handler", "fn").exit_code == 0

    def run_pytest() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py"],
            cwd=workdir / "fn",
            capture_output=True,
            text=True,
            timeout=120,
        )

    passed = run_pytest()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 passed" in passed.stdout
    (workdir / "fn" / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    failed = run_pytest()
    assert failed.returncode == 1 and "1 failed" in failed.stdout
