"""Which platform a function's wheels are built for: Lambda's manylinux tags per runtime and
architecture, and the interpreter the emulator runs a function with (fake `python3.X` on PATH)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipectl.build.platforms import lambda_platform, local_platform, manylinux_tags

OWN = f"{sys.version_info.major}.{sys.version_info.minor}"
OTHER = "3.10" if OWN != "3.10" else "3.13"  # a runtime version this Python is not


def test_manylinux_tags_stop_at_the_runtimes_glibc():
    amazon_linux_2 = manylinux_tags(26, "aarch64")
    assert amazon_linux_2[0] == "manylinux_2_26_aarch64"
    assert amazon_linux_2[-1] == "manylinux2014_aarch64"
    assert "manylinux_2_28_aarch64" not in amazon_linux_2
    al2023 = manylinux_tags(34, "x86_64")
    assert {"manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux1_x86_64"} <= set(al2023)
    assert "manylinux_2_35_x86_64" not in al2023


def test_lambda_platform_per_runtime_and_architecture():
    arm = lambda_platform("python3.13", "arm64")
    assert (arm.target, arm.python_version, arm.machine) == ("lambda", "3.13", "aarch64")
    assert "manylinux_2_34_aarch64" in arm.pip_install
    old = lambda_platform("python3.10", "x86_64")
    assert "manylinux_2_26_x86_64" in old.pip_install
    assert "manylinux_2_28_x86_64" not in old.pip_install
    assert arm.identity() != lambda_platform("python3.13", "x86_64").identity()


def fake_python(folder: Path, name: str, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    os.chmod(path, 0o755)


def test_wheels_are_for_the_runtimes_python_on_path_when_it_runs(tmp_path, monkeypatch):
    """The emulator's rule (pipectl/local/interpreters.py), applied when no emulator has
    recorded its choice yet (tmp_path is a home where none runs)."""
    fake = tmp_path / "bin" / f"python{OTHER}"
    fake_python(fake.parent, fake.name, f"echo {fake}\necho {OTHER}.4\n")  # its probe's answer
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    platform = local_platform(f"python{OTHER}", tmp_path)
    assert platform.pip_global == ("--python", str(fake))
    assert (platform.python_version, platform.target) == (OTHER, "local")
    assert str(fake) in platform.identity()["extra"]


def test_a_python_on_path_that_does_not_run_is_passed_over(tmp_path, monkeypatch):
    """Like a pyenv shim for a version that is installed but not selected: it exits 127."""
    fake_python(tmp_path / "shims", f"python{OTHER}", "echo 'pyenv: not found' >&2\nexit 127\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'shims'}{os.pathsep}/usr/bin")
    platform = local_platform(f"python{OTHER}", tmp_path)
    assert platform.pip_global == ()  # this Python, which the emulator falls back to
    assert platform.python_version == OWN


def test_this_python_is_used_when_it_is_the_runtimes_version(tmp_path, monkeypatch):
    fake_python(tmp_path / "bin", f"python{OWN}", f"echo /elsewhere/python{OWN}\necho {OWN}.0\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    platform = local_platform(f"python{OWN}", tmp_path)
    assert platform.pip_global == () and platform.python_version == OWN
