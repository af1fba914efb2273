"""Stand-ins for pip (dependencies.PipRunner) in tests that must not reach the package index.

`FakePip` writes what `pip install --target` writes for a wheel, including everything that
differs run to run: a console script whose first line names an interpreter, bytecode, a
direct_url.json with a local path, and RECORD rows for all of them. `failing_pip` answers with
pip's own failure output.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pipectl.build.dependencies import PipResult

# What pip 23.2 prints for a requirement without a wheel for the platform (copied from a run
# with --platform manylinux2014_x86_64 --only-binary=:all: psycopg2).
NO_WHEEL_OUTPUT = """\
WARNING: Location 'file:///opt/pypi/simple/psycopg2/' is ignored: it is neither a file nor a directory.
ERROR: Could not find a version that satisfies the requirement psycopg2 (from versions: none)
ERROR: No matching distribution found for psycopg2
"""  # noqa: E501
NO_WHEEL_FOR_PIN_OUTPUT = """\
ERROR: Could not find a version that satisfies the requirement numpy==1.21.0 (from versions: 1.26.0, 1.26.4, 2.0.0, 2.1.3, 2.2.6)
ERROR: No matching distribution found for numpy==1.21.0
"""  # noqa: E501


@dataclass
class FakePip:
    """Installs one made-up distribution `name` `version`; records every call's arguments."""

    name: str = "fakepkg"
    version: str = "1.0"
    extra_bytes: int = 0  # a sparse data file of this size inside the package
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, args: list[str], cwd: Path) -> PipResult:
        self.calls.append(list(args))
        target = Path(args[args.index("--target") + 1])
        package = target / self.name
        package.mkdir(parents=True)
        files = {
            f"{self.name}/__init__.py": f"VERSION = {self.version!r}\n".encode(),
            f"{self.name}/_speedups.so": b"\x7fELF fake shared object",
            f"{self.name}/__pycache__/__init__.cpython-312.pyc": os.urandom(16),
            f"bin/{self.name}": f"#!/tmp/{uuid.uuid4().hex}/python\nimport {self.name}\n".encode(),
        }
        dist = f"{self.name}-{self.version}.dist-info"
        files[f"{dist}/METADATA"] = (
            f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\n\nA fake.\n"
        ).encode()
        files[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nTag: cp312-cp312-manylinux_2_17_x86_64\n"
        files[f"{dist}/INSTALLER"] = b"pip\n"
        files[f"{dist}/direct_url.json"] = json.dumps(
            {"url": f"file:///tmp/{uuid.uuid4().hex}/{self.name}"}
        ).encode()
        for name, data in files.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.chmod(package / "_speedups.so", 0o755)
        if self.extra_bytes:
            with open(package / "data.bin", "wb") as sparse:
                sparse.truncate(self.extra_bytes)  # a hole: no disk used, nothing written
        rows = [[name, record_hash(data), str(len(data))] for name, data in files.items()]
        rows = [[("../../" + r[0]) if r[0].startswith("bin/") else r[0], *r[1:]] for r in rows]
        if self.extra_bytes:
            rows.append([f"{self.name}/data.bin", "sha256=x", str(self.extra_bytes)])
        rows.append([f"{dist}/RECORD", "", ""])
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(reversed(rows))  # an order of its own
        (target / dist / "RECORD").write_text(out.getvalue())
        return PipResult(0, f"Successfully installed {self.name}-{self.version}\n")


def record_hash(data: bytes) -> str:
    """RECORD's hash field: urlsafe base64 of the SHA-256, unpadded."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class FailingPip:
    """pip exiting 1 with `output`."""

    output: str = NO_WHEEL_OUTPUT
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, args: list[str], cwd: Path) -> PipResult:
        self.calls.append(list(args))
        return PipResult(1, self.output)


def handler_with_requirements(folder: Path, requirements: str = "fakepkg==1.0\n") -> Path:
    """A function.source folder: app.py and a requirements.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text("def lambda_handler(event, context):\n    return 'ok'\n")
    (folder / "requirements.txt").write_text(requirements)
    return folder
