"""`pipectl package` with a real pip and PyPI (network): a dependency with compiled parts gets
the manylinux wheel of the configured architecture and the runtime's CPython; builds from scratch
are byte-identical; another requirements.txt gives another CodeSha256."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.network

HANDLER = "import yaml\n\ndef lambda_handler(event, context):\n    return yaml.__version__\n"


def package(cli, runtime, workdir: Path, home: str, architecture: str, pin: str) -> dict:
    """Build in a PIPECTL_HOME of its own (so nothing comes from an earlier build's cache)."""
    folder = workdir / "handler"
    folder.mkdir(exist_ok=True)
    (folder / "app.py").write_text(HANDLER)
    (folder / "requirements.txt").write_text(f"PyYAML=={pin}\n")
    (workdir / "pipectl.yaml").write_text(
        f"function:\n  source: handler\n  runtime: python3.12\n  architecture: {architecture}\n"
    )
    runtime.pipectl_home = workdir / home
    output = workdir / f"{home}.zip"
    result = cli("package", "--json", "--output", str(output))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    with zipfile.ZipFile(output) as archive:
        document["names"] = archive.namelist()
        document["wheel"] = archive.read(f"PyYAML-{pin}.dist-info/WHEEL").decode()
    return document


def test_each_architecture_gets_its_own_manylinux_wheel_deterministically(cli, runtime, workdir):
    arm = package(cli, runtime, workdir, "home-arm", "arm64", "6.0.2")
    arm_again = package(cli, runtime, workdir, "home-arm-again", "arm64", "6.0.2")
    x86 = package(cli, runtime, workdir, "home-x86", "x86_64", "6.0.2")

    assert arm["packages"] == [{"name": "PyYAML", "version": "6.0.2"}]
    compiled = [n for n in arm["names"] if n.endswith(".so")]
    assert compiled and all(n.endswith(".cpython-312-aarch64-linux-gnu.so") for n in compiled)
    assert "Tag: cp312-cp312-manylinux" in arm["wheel"] and "aarch64" in arm["wheel"]
    assert "x86_64" not in arm["wheel"]

    compiled = [n for n in x86["names"] if n.endswith(".so")]
    assert compiled and all(n.endswith(".cpython-312-x86_64-linux-gnu.so") for n in compiled)
    assert "x86_64" in x86["wheel"] and "aarch64" not in x86["wheel"]

    assert arm_again["sha256"] == arm["sha256"]  # rebuilt from scratch, the same bytes
    assert x86["sha256"] != arm["sha256"]

    older = package(cli, runtime, workdir, "home-older", "arm64", "6.0.1")
    assert older["packages"] == [{"name": "PyYAML", "version": "6.0.1"}]
    assert older["sha256"] != arm["sha256"]
