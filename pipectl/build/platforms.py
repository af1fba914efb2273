"""Where a function's code will run, and so which wheels pip must install for it.

On Lambda that is Amazon Linux with the runtime's CPython on `function.architecture`, whatever the
machine running pipectl is: pip is told the target (`--platform`, `--python-version`,
`--implementation cp`, `--only-binary=:all:`) instead of looking at this machine. Lambda's Python
runtimes run on Amazon Linux 2 (python3.10, python3.11: glibc 2.26) and Amazon Linux 2023
(python3.12, python3.13: glibc 2.34) (docs.aws.amazon.com/lambda/latest/dg/lambda-python.html), so
a manylinux wheel is usable when its glibc is not newer than that.

On the embedded emulator the function runs as a local process, on the interpreter the emulator
picks for its runtime (pipectl/local/interpreters.py); the local build installs wheels for that
same interpreter, so they are the ones it can import.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Lambda's OS per runtime, as the minor version of its glibc (Amazon Linux 2: 2.26, AL2023: 2.34).
LAMBDA_GLIBC_MINOR = {"python3.10": 26, "python3.11": 26, "python3.12": 34, "python3.13": 34}
NEWEST_GLIBC_MINOR = 34
# Lambda's architecture names -> the machine names in wheel platform tags.
WHEEL_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True)
class Platform:
    """A target to install wheels for. `pip_global` goes before pip's `install` command (it may
    name the interpreter to install for), `pip_install` after it."""

    target: str  # "lambda" or "local"
    python_version: str  # "3.12"
    machine: str  # "x86_64", "aarch64", "arm64" (macOS) ...
    label: str  # for people: "Lambda python3.12 arm64"
    pip_global: tuple[str, ...] = ()
    pip_install: tuple[str, ...] = ()
    extra_identity: tuple[str, ...] = field(default=())

    def identity(self) -> dict[str, Any]:
        """Everything that decides which files pip installs: part of the build cache's key, so
        a build for one platform is never reused for another."""
        return {
            "target": self.target,
            "python": self.python_version,
            "machine": self.machine,
            "pip_global": list(self.pip_global),
            "pip_install": list(self.pip_install),
            "extra": list(self.extra_identity),
        }


def manylinux_tags(glibc_minor: int, machine: str) -> list[str]:
    """Every manylinux platform tag a Linux with glibc 2.<glibc_minor> on `machine` accepts,
    newest first. pip takes `--platform` many times; it does not widen a PEP 600 tag by itself."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc_minor, 16, -1)]
    tags.append(f"manylinux2014_{machine}")  # the legacy alias of manylinux_2_17
    if machine == "x86_64":  # older manylinux generations exist only for x86
        tags += [
            "manylinux_2_12_x86_64",
            "manylinux2010_x86_64",
            "manylinux_2_5_x86_64",
            "manylinux1_x86_64",
        ]
    return tags


def lambda_platform(runtime: str, architecture: str) -> Platform:
    """Lambda's runtime `runtime` (python3.10-3.13) on `architecture` (x86_64 or arm64)."""
    version = runtime.removeprefix("python")
    machine = WHEEL_MACHINES[architecture]
    glibc = LAMBDA_GLIBC_MINOR.get(runtime, NEWEST_GLIBC_MINOR)
    options = ["--implementation", "cp", "--python-version", version, "--only-binary=:all:"]
    for tag in manylinux_tags(glibc, machine):
        options += ["--platform", tag]
    return Platform(
        target="lambda",
        python_version=version,
        machine=machine,
        label=f"Lambda {runtime} {architecture}",
        pip_install=tuple(options),
    )


def emulator_python(runtime: str, home: Path | None = None) -> tuple[str, str]:
    """(executable, "X.Y") of the Python the emulator runs `runtime` functions with: the one
    the running emulator recorded for that runtime, else the same choice made here with the
    emulator's own rule (pipectl.local.interpreters.choose: its own Python when it is that
    version, else `pythonX.Y` on PATH when it really runs, else its own Python)."""
    from pipectl.local import interpreters, server

    recorded = server.runtime_interpreters(home).get(runtime, {})
    executable, version = recorded.get("executable"), recorded.get("version")
    if not (executable and version):
        chosen = interpreters.choose(runtime)
        executable, version = chosen.executable, chosen.version
    return executable, ".".join(version.split(".")[:2])


def local_platform(runtime: str, home: Path | None = None) -> Platform:
    """This machine, for the interpreter the emulator runs `runtime` with. pip installs for that
    interpreter itself (`pip --python`, pip >= 22.3) when it is not the one running pipectl.
    Only wheels, as for Lambda: the emulator is a rehearsal of the deployment, not a place where
    a package that cannot be installed on Lambda builds from source."""
    executable, version = emulator_python(runtime, home)
    same = os.path.realpath(executable) == os.path.realpath(sys.executable)
    return Platform(
        target="local",
        python_version=version,
        machine=platform.machine(),
        label=f"the emulator's Python {version} ({executable})",
        pip_global=() if same else ("--python", executable),
        pip_install=("--only-binary=:all:",),
        extra_identity=(sys.platform, executable),
    )
