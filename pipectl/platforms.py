"""Where a function's code will run, and so which wheels pip must install for it.

On Lambda that is Amazon Linux with the runtime's CPython on `function.architecture`, whatever the
machine running pipectl is: pip is told the target (`--platform`, `--python-version`,
`--implementation cp`, `--only-binary=:all:`) instead of looking at this machine. Lambda's Python
runtimes run on Amazon Linux 2 (python3.10, python3.11: glibc 2.26) and Amazon Linux 2023
(python3.12, python3.13: glibc 2.34) (docs.aws.amazon.com/lambda/latest/dg/lambda-python.html), so
a manylinux wheel is usable when its glibc is not newer than that.

On the embedded emulator the function runs as a local process, on the interpreter `local_python`
picks: the emulator and the local build both call it, so the wheels installed are the ones that
interpreter can import.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

# Lambda's OS per runtime, as the minor version of its glibc (Amazon Linux 2: 2.26, AL2023: 2.34).
LAMBDA_GLIBC_MINOR = {"python3.10": 26, "python3.11": 26, "python3.12": 34, "python3.13": 34}
NEWEST_GLIBC_MINOR = 34
# Lambda's architecture names -> the machine names in wheel platform tags.
WHEEL_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
PROBE_TIMEOUT_S = 10


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


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs a function on this machine."""

    executable: str
    version: str  # "3.12"
    matches_runtime: bool  # False: the runtime's Python was not found; this one stands in


def local_python(runtime: str) -> Interpreter:
    """The interpreter the embedded emulator runs a `runtime` function with: this Python when it
    is that version (it has boto3, as Lambda's runtime does), else `python3.X` on PATH when it
    really runs (a pyenv shim for a version that is not selected exits with an error), else this
    Python as a stand-in. The emulator and the local build both call this, so they agree."""
    return _local_python(runtime, os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=16)
def _local_python(runtime: str, path: str) -> Interpreter:
    wanted = runtime.removeprefix("python")
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    if own == wanted:
        return Interpreter(sys.executable, own, True)
    found = shutil.which(runtime, path=path or None)
    if found and probe_version(found) == wanted:
        return Interpreter(found, wanted, True)
    return Interpreter(sys.executable, own, False)


def probe_version(executable: str) -> str | None:
    """`X.Y` as reported by running `executable`, or None when it does not run."""
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def local_platform(runtime: str) -> Platform:
    """This machine, for the interpreter `local_python(runtime)` picks. pip installs for that
    interpreter itself (`pip --python`, pip >= 22.3) when it is not the one running pipectl.
    Only wheels, as for Lambda: the emulator is a rehearsal of the deployment, not a place where
    a package that cannot be installed on Lambda builds from source."""
    python = local_python(runtime)
    same = os.path.realpath(python.executable) == os.path.realpath(sys.executable)
    return Platform(
        target="local",
        python_version=python.version,
        machine=platform.machine(),
        label=f"the emulator's Python {python.version} ({python.executable})",
        pip_global=() if same else ("--python", python.executable),
        pip_install=("--only-binary=:all:",),
        extra_identity=(sys.platform, python.executable),
    )
