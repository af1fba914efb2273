"""Which Python runs a function: its runtime's when installed (and working), else the
emulator's own with a warning; boto3 importable on either, the emulator's other packages not."""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from emulator_helpers import Aws, invocations, invoke

from pipectl.local import interpreters, server

OWN = f"{sys.version_info.major}.{sys.version_info.minor}"
OWN_FULL = f"{OWN}.{sys.version_info.micro}"

PROBE = """
import sys


def lambda_handler(event, context):
    import boto3

    importable = {}
    for name in ("yaml", "moto", "pipectl"):
        try:
            __import__(name)
            importable[name] = True
        except ImportError:
            importable[name] = False
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    return {
        "version": "%d.%d" % sys.version_info[:2],
        "executable": sys.executable,
        "importable": importable,
        "tables": tables,
    }
"""


def real_other_python() -> tuple[str, str] | None:
    """(version, path) of a working Python 3.10-3.13 other than the one running the tests:
    on PATH, or installed by pyenv though not on PATH."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for version in ("3.12", "3.13", "3.10", "3.11"):
        if version == OWN:
            continue
        candidates = [shutil.which(f"python{version}") or ""]
        candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
        for candidate in filter(None, candidates):
            found = interpreters.probe(candidate)
            if isinstance(found, tuple) and found[1].startswith(f"{version}."):
                return version, found[0]
    return None


REAL_OTHER = real_other_python()
FAILING_VERSION = next(
    v for v in ("3.13", "3.10", "3.12") if v != OWN and v != (REAL_OTHER or ("",))[0]
)
SHIM = '#!/bin/sh\necho "pyenv: $(basename $0): command not found" >&2\nexit 127\n'


def shim(directory: Path, name: str) -> None:
    """A stand-in for a pyenv shim of a version pyenv does not have: it fails when run."""
    path = directory / name
    path.write_text(SHIM)
    path.chmod(0o755)


@pytest.fixture(scope="module")
def fake_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Put first on the emulator's PATH: a failing python<FAILING_VERSION>, and a link to a
    real other Python when this machine has one."""
    directory = tmp_path_factory.mktemp("bin")
    shim(directory, f"python{FAILING_VERSION}")
    if REAL_OTHER:
        (directory / f"python{REAL_OTHER[0]}").symlink_to(REAL_OTHER[1])
    return directory


@pytest.fixture(scope="module")
def emulator_env(fake_bin: Path) -> dict[str, str]:
    return {"PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}


def test_the_emulators_own_version_runs_on_the_emulators_python(tmp_path: Path) -> None:
    chosen = interpreters.choose(f"python{OWN}", search_path=str(tmp_path))

    assert (chosen.executable, chosen.version, chosen.warning) == (sys.executable, OWN_FULL, "")


def test_no_candidate_on_path_falls_back_with_a_warning(tmp_path: Path) -> None:
    chosen = interpreters.choose(f"python{FAILING_VERSION}", search_path=str(tmp_path))

    assert chosen.executable == sys.executable
    assert chosen.warning == (
        f"[WARNING] pipectl local: no python{FAILING_VERSION} on PATH; running "
        f"python{FAILING_VERSION} on the emulator's own Python {OWN_FULL}"
    )


def test_a_candidate_that_does_not_run_is_not_used(tmp_path: Path) -> None:
    shim(tmp_path, f"python{FAILING_VERSION}")

    chosen = interpreters.choose(f"python{FAILING_VERSION}", search_path=str(tmp_path))

    assert chosen.executable == sys.executable
    assert (
        f"{tmp_path}/python{FAILING_VERSION} does not run: "
        f"pyenv: python{FAILING_VERSION}: command not found;" in chosen.warning
    )


def test_a_candidate_of_another_version_is_not_used(tmp_path: Path) -> None:
    (tmp_path / f"python{FAILING_VERSION}").symlink_to(sys.executable)

    chosen = interpreters.choose(f"python{FAILING_VERSION}", search_path=str(tmp_path))

    assert chosen.executable == sys.executable
    assert f"python{FAILING_VERSION} is Python {OWN_FULL};" in chosen.warning


@pytest.mark.skipif(REAL_OTHER is None, reason="no Python 3.10-3.13 besides the test runner's")
def test_a_working_candidate_is_used_by_its_real_path(tmp_path: Path) -> None:
    assert REAL_OTHER is not None
    version, real = REAL_OTHER
    (tmp_path / f"python{version}").symlink_to(real)

    chosen = interpreters.choose(f"python{version}", search_path=str(tmp_path))

    # Past the shell-script shim of a version manager (a symlink is the same program anyway).
    assert os.path.realpath(chosen.executable) == os.path.realpath(real)
    assert chosen.version.startswith(f"{version}.")
    assert chosen.warning == "" and chosen.source == f"python{version} on PATH"


def deploy_fallback(aws: Aws) -> None:
    """The function on a runtime whose Python is missing here (made once per module)."""
    lam = aws.client("lambda")
    try:
        aws.create_function("fallback", PROBE, runtime=f"python{FAILING_VERSION}")
    except lam.exceptions.ResourceConflictException:
        pass


def test_a_function_falls_back_to_the_emulators_python_and_says_so(aws: Aws) -> None:
    runtime = f"python{FAILING_VERSION}"
    deploy_fallback(aws)

    _, body, _ = invoke(aws, "fallback")

    assert body["version"] == OWN, body
    assert body["importable"] == {"yaml": False, "moto": False, "pipectl": False}, body
    assert isinstance(body["tables"], list)  # boto3 works and reaches the emulator
    logged = invocations(aws.client("logs"), "/aws/lambda/fallback")[0]
    assert logged.lines[0].startswith(f"INIT_START Runtime Version: python:{FAILING_VERSION}.")
    assert f"Interpreter: Python {OWN_FULL} {sys.executable} (fallback" in logged.lines[0]
    assert logged.lines[1].startswith("[WARNING] pipectl local: ")
    assert f"running {runtime} on the emulator's own Python {OWN_FULL}" in logged.lines[1]


@pytest.mark.skipif(REAL_OTHER is None, reason="no Python 3.10-3.13 besides the test runner's")
def test_a_function_runs_on_its_runtimes_python_with_boto3(aws: Aws) -> None:
    assert REAL_OTHER is not None
    version, real = REAL_OTHER
    aws.create_function("native", PROBE, runtime=f"python{version}")

    _, body, _ = invoke(aws, "native")

    assert body["version"] == version, body
    assert os.path.realpath(body["executable"]) == os.path.realpath(real), body
    assert body["importable"] == {"yaml": False, "moto": False, "pipectl": False}, body
    assert isinstance(body["tables"], list)
    (logged,) = invocations(aws.client("logs"), "/aws/lambda/native")
    assert f"Interpreter: Python {version}." in logged.lines[0]
    assert not any(line.startswith("[WARNING] pipectl local") for line in logged.lines)


def test_the_running_emulator_tells_which_python_each_runtime_ran_on(
    aws: Aws, emulator_home: Path
) -> None:
    deploy_fallback(aws)
    invoke(aws, "fallback")

    recorded = server.runtime_interpreters(emulator_home)

    fallback = recorded[f"python{FAILING_VERSION}"]
    assert fallback["executable"] == sys.executable and fallback["version"] == OWN_FULL
    assert fallback["warning"].startswith("[WARNING] pipectl local: ")
    assert server.runtime_interpreters(emulator_home / "not-running") == {}


def test_local_status_names_the_python_each_runtime_ran_on(
    aws: Aws, emulator_home: Path, cli, runtime
) -> None:
    """`pipectl local status` says which Python ran each runtime, and when it was the
    emulator's own in place of the runtime's."""
    deploy_fallback(aws)
    invoke(aws, "fallback")
    runtime.pipectl_home = emulator_home

    document = json.loads(cli("local", "status", "--json").stdout)
    human = " ".join(cli("local", "status").stderr.split())  # as one line, however wrapped

    fallback = document["runtimes"][f"python{FAILING_VERSION}"]
    assert fallback["executable"] == sys.executable and fallback["version"] == OWN_FULL
    assert fallback["warning"]
    assert f"python{FAILING_VERSION}: Python {OWN_FULL} ({sys.executable}" in human
    assert f"(python{FAILING_VERSION} itself not found or not working)" in human
