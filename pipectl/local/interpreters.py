"""Which Python runs a function, and the boto3 it can import there.

A function whose runtime is `python3.12` runs on Python 3.12 when one is installed: the emulator's
own interpreter if it is 3.12, else `python3.12` found on PATH, checked by running it (a pyenv
shim for a version pyenv does not have fails there). Otherwise it runs on the emulator's own
Python, and every cold start says so with one warning line in the function's log.

Lambda's Python runtimes ship boto3. A function gets the emulator's own boto3, botocore,
s3transfer, jmespath, dateutil, urllib3 and six (all pure Python) through a private directory of
links to just those packages, placed after the function's code on `sys.path` as Lambda places its
runtime's copy; the emulator's other packages, compiled for its own Python, stay out of reach.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("pipectl.local")

RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
PROBE_TIMEOUT_S = 20.0
# Prints the interpreter's real path (past any shim or wrapper) and its version.
PROBE = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"


@dataclass(frozen=True)
class Interpreter:
    """The Python a runtime's functions run on."""

    runtime: str
    executable: str
    version: str  # "3.12.1"
    source: str  # how it was found, for the INIT_START line and `pipectl local status`
    warning: str = ""  # set when it is not the runtime's Python

    @property
    def is_own(self) -> bool:
        return self.executable == sys.executable

    def describe(self) -> str:
        return f"Python {self.version} {self.executable} ({self.source})"


_lock = threading.Lock()
_chosen: dict[str, Interpreter] = {}
_layer: Path | None = None
_record_file: Path | None = None


def record_choices_in(path: Path) -> None:
    """Keep `path` up to date with every choice made (JSON, runtime -> Interpreter fields), so
    that `pipectl local status` can tell which Python each runtime runs on."""
    global _record_file
    _record_file = path


def for_runtime(runtime: str, search_path: str | None = None) -> Interpreter:
    """The interpreter for `runtime` (e.g. "python3.12"), decided once per emulator process."""
    with _lock:
        if runtime not in _chosen:
            _chosen[runtime] = choose(runtime, search_path)
            log.info("runtime %s runs on %s", runtime, _chosen[runtime].describe())
            if _record_file is not None:
                temporary = _record_file.with_suffix(".tmp")
                temporary.write_text(json.dumps(as_records(_chosen), indent=2))
                temporary.replace(_record_file)
        return _chosen[runtime]


def chosen() -> dict[str, Interpreter]:
    """Every runtime decided so far."""
    with _lock:
        return dict(_chosen)


def as_records(interpreters: dict[str, Interpreter]) -> dict[str, dict[str, str]]:
    return {runtime: asdict(interpreter) for runtime, interpreter in interpreters.items()}


def choose(runtime: str, search_path: str | None = None) -> Interpreter:
    """The emulator's own Python if its version is the runtime's, else a working `pythonX.Y`
    on `search_path` (default PATH), else the emulator's own Python with a warning."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    wanted = runtime.removeprefix("python")
    if own.rpartition(".")[0] == wanted:
        return Interpreter(runtime, sys.executable, own, "the emulator's own Python")
    command = f"python{wanted}"
    candidate = shutil.which(command, path=search_path)
    reason = f"no {command} on PATH"
    if candidate:
        found = probe(candidate)
        if isinstance(found, str):
            reason = f"{candidate} does not run: {found}"
        elif found[1].rpartition(".")[0] != wanted:
            reason = f"{candidate} is Python {found[1]}"
        else:
            return Interpreter(runtime, found[0], found[1], f"{command} on PATH")
    warning = (
        f"[WARNING] pipectl local: {reason}; running {runtime} on the emulator's own Python {own}"
    )
    return Interpreter(runtime, sys.executable, own, "fallback: the emulator's own", warning)


def probe(candidate: str) -> tuple[str, str] | str:
    """(real executable, version) if `candidate` runs, else why not (its first line of output)."""
    try:
        done = subprocess.run(
            [candidate, "-S", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env={"PATH": os.environ.get("PATH", os.defpath)},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2:
        said = (done.stderr or done.stdout).strip().splitlines()
        return said[0].strip() if said else f"exit status {done.returncode}"
    return lines[0], lines[1]


def runtime_layer() -> Path:
    """A private directory linking the emulator's pure-Python boto3 and its dependencies, made
    once per emulator process and removed when it exits."""
    global _layer
    with _lock:
        if _layer is None:
            _layer = Path(tempfile.mkdtemp(prefix="pipectl-runtime-"))
            atexit.register(shutil.rmtree, _layer, True)
            for name in RUNTIME_PACKAGES:
                _link(name, _layer)
        return _layer


def _link(name: str, layer: Path) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        log.warning("%s is not installed: functions cannot import it", name)
        return
    source = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
    compiled = [p for p in _files(source) if p.name.endswith(COMPILED_SUFFIXES)]
    if compiled:
        log.warning("%s holds compiled code (%s): not offered to functions", name, compiled[0])
        return
    (layer / source.name).symlink_to(source, target_is_directory=source.is_dir())


def _files(source: Path) -> list[Path]:
    return [p for p in source.rglob("*") if p.is_file()] if source.is_dir() else [source]
