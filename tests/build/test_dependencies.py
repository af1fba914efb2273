"""requirements.txt -> installed, cached dependencies: the cache key, pip's arguments, and pip's
failures as pipectl's messages (pip's output injected through the PipRunner seam)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pip_fakes import (
    NO_WHEEL_FOR_PIN_OUTPUT,
    NO_WHEEL_OUTPUT,
    FailingPip,
    FakePip,
    handler_with_requirements,
)

from pipectl.build import dependencies, packaging
from pipectl.build.platforms import Platform, lambda_platform
from pipectl.errors import BuildError

REQUIREMENTS = b"requests==2.32.3\n"


def local_like(python: str = "3.12") -> Platform:
    return Platform("local", python, "x86_64", "the emulator", pip_install=("--only-binary=:all:",))


def test_cache_keys_never_mix_architectures_pythons_or_targets():
    keys = {
        "x86 3.12": dependencies.cache_key(REQUIREMENTS, lambda_platform("python3.12", "x86_64")),
        "arm 3.12": dependencies.cache_key(REQUIREMENTS, lambda_platform("python3.12", "arm64")),
        "x86 3.11": dependencies.cache_key(REQUIREMENTS, lambda_platform("python3.11", "x86_64")),
        "local 3.12": dependencies.cache_key(REQUIREMENTS, local_like("3.12")),
        "other reqs": dependencies.cache_key(
            b"requests==2.32.4\n", lambda_platform("python3.12", "x86_64")
        ),
    }
    assert len(set(keys.values())) == len(keys)
    same = dependencies.cache_key(REQUIREMENTS, lambda_platform("python3.12", "x86_64"))
    assert same == keys["x86 3.12"]


def test_a_build_for_one_architecture_is_not_reused_for_another(tmp_path):
    source = handler_with_requirements(tmp_path / "src")
    pip = FakePip()
    for architecture in ("x86_64", "arm64", "x86_64"):
        platform = lambda_platform("python3.12", architecture)
        packaging.build(str(source), platform, tmp_path / "cache", pip)
    assert len(pip.calls) == 2  # x86_64, arm64; the third build came from the cache
    platforms = [[a for a in call if a.startswith("manylinux_2_17")] for call in pip.calls]
    assert platforms == [["manylinux_2_17_x86_64"], ["manylinux_2_17_aarch64"]]


def test_pip_is_told_lambdas_platform_not_this_machines(tmp_path):
    args = dependencies.pip_args(
        lambda_platform("python3.11", "arm64"), tmp_path / "requirements.txt", tmp_path / "t"
    )
    assert args[0] == "install"
    assert args[args.index("--target") + 1] == str(tmp_path / "t")
    assert args[args.index("--python-version") + 1] == "3.11"
    assert args[args.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in args and "--no-compile" in args
    platforms = [args[i + 1] for i, a in enumerate(args) if a == "--platform"]
    assert platforms[0] == "manylinux_2_26_aarch64"  # Amazon Linux 2's glibc, newest first
    assert "manylinux2014_aarch64" in platforms
    assert not [p for p in platforms if "x86_64" in p or p.startswith("musllinux")]


def test_no_wheel_for_the_platform_names_the_package_and_the_fix(tmp_path):
    source = handler_with_requirements(tmp_path / "src", "psycopg2\n")
    with pytest.raises(BuildError) as info:
        packaging.build(
            str(source), lambda_platform("python3.12", "arm64"), tmp_path / "cache", FailingPip()
        )
    error = info.value
    assert error.exit_code == 1
    assert error.message == (
        "requirements.txt: psycopg2 has no wheel for Lambda python3.12 arm64 "
        "(CPython 3.12, aarch64)"
    )
    assert "manylinux wheel" in error.hint and "pypi.org/project/psycopg2" in error.hint
    assert "function.architecture" in error.hint


def test_a_pinned_version_without_a_wheel_suggests_the_versions_that_have_one(tmp_path):
    source = handler_with_requirements(tmp_path / "src", "numpy==1.21.0\n")
    pip = FailingPip(NO_WHEEL_FOR_PIN_OUTPUT)
    with pytest.raises(BuildError) as info:
        packaging.build(str(source), lambda_platform("python3.12", "x86_64"), tmp_path / "c", pip)
    assert "no wheel of numpy==1.21.0" in info.value.message
    assert "2.2.6" in info.value.message
    assert info.value.hint == "pin one of those, e.g. numpy==2.2.6"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "WARNING: Retrying (Retry(total=4)) after connection broken by "
            "'NewConnectionError(...)': /simple/requests/\n" + NO_WHEEL_OUTPUT,
            "could not reach the package index",
        ),
        ("/usr/bin/python3: No module named pip\n", "pip is not installed"),
        (
            "ERROR: Invalid requirement: 'requests>>2' (from line 1 of requirements.txt)\n",
            "Invalid requirement: 'requests>>2'",
        ),
    ],
)
def test_other_pip_failures_say_what_happened(tmp_path, output, expected):
    source = handler_with_requirements(tmp_path / "src", "requests\n")
    with pytest.raises(BuildError) as info:
        packaging.build(
            str(source), lambda_platform("python3.12", "x86_64"), tmp_path / "c", FailingPip(output)
        )
    assert expected in info.value.message
    if "Invalid" in expected:  # the whole output is kept for the user to read
        log = Path(info.value.hint.rsplit(": ", 1)[1])
        assert log.read_text() == output


def test_a_failed_build_leaves_no_cache_entry_and_is_retried(tmp_path):
    source = handler_with_requirements(tmp_path / "src")
    platform = lambda_platform("python3.12", "x86_64")
    with pytest.raises(BuildError):
        packaging.build(str(source), platform, tmp_path / "cache", FailingPip())
    pip = FakePip()
    packaging.build(str(source), platform, tmp_path / "cache", pip)
    assert len(pip.calls) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".log")] == [
        dependencies.cache_key(b"fakepkg==1.0\n", platform)
    ]


def test_a_damaged_cache_entry_is_rebuilt(tmp_path):
    source = handler_with_requirements(tmp_path / "src")
    platform = lambda_platform("python3.12", "x86_64")
    pip = FakePip()
    first = packaging.build(str(source), platform, tmp_path / "cache", pip)
    entry = tmp_path / "cache" / dependencies.cache_key(b"fakepkg==1.0\n", platform)
    (entry / dependencies.MANIFEST).write_text("{not json")
    again = packaging.build(str(source), platform, tmp_path / "cache", pip)
    assert len(pip.calls) == 2 and again.sha256 == first.sha256


def test_package_command_reports_a_missing_wheel_with_exit_1_and_no_aws_call(cli, runtime, workdir):
    handler_with_requirements(workdir / "handler", "psycopg2\n")
    (workdir / "pipectl.yaml").write_text("function:\n  source: handler\n  architecture: arm64\n")
    runtime.run_pip = FailingPip()
    result = cli("package")
    assert result.exit_code == 1, result.output
    assert "psycopg2 has no wheel for Lambda python3.12 arm64" in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert runtime.last_aws is None  # no client was ever made
    up = cli("up", "--json")
    assert up.exit_code == 1 and runtime.last_aws is None
    assert not (workdir / "serverless-data-processor.zip").exists()


def test_package_command_writes_the_zip_and_lists_its_packages(cli, runtime, workdir):
    import json
    import zipfile

    handler_with_requirements(workdir / "handler")
    (workdir / "pipectl.yaml").write_text("function:\n  source: handler\n")
    runtime.run_pip = FakePip()
    result = cli("package", "--json", "--output", "out.zip")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    data = (workdir / "out.zip").read_bytes()
    assert document["path"] == "out.zip" and document["bytes"] == len(data)
    assert document["packages"] == [{"name": "fakepkg", "version": "1.0"}]
    assert document["sha256"] == packaging.Package(data, ()).sha256
    assert "fakepkg/__init__.py" in zipfile.ZipFile(workdir / "out.zip").namelist()
    assert runtime.last_aws is None
    human = cli("package")  # the default name, the same bytes
    assert human.exit_code == 0 and document["sha256"] in human.stderr
    assert (workdir / "serverless-data-processor.zip").read_bytes() == data
    local = cli("package", "--local", "--json", "--output", "local.zip")
    assert local.exit_code == 0, local.stderr
    assert "--platform" not in runtime.run_pip.calls[-1]  # for this machine's Python
    assert not (runtime.pipectl_home / "emulator.json").exists()  # no emulator started
    (workdir / "notes.txt").write_text("mine")
    refused = cli("package", "--output", "notes.txt")
    assert refused.exit_code == 2 and (workdir / "notes.txt").read_text() == "mine"


def test_pip_runs_as_a_module_of_this_python(tmp_path):
    result = dependencies.run_pip(["--version"], tmp_path)
    assert result.returncode == 0
    assert f"(python {sys.version_info.major}.{sys.version_info.minor})" in result.output
