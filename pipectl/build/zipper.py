"""Deterministic zip archives: the same files always give the same bytes, on any machine.

Entries are sorted, stamped with a fixed time, made by "Unix" with a fixed mode: 644, or 755 for a
file with an executable bit (Lambda needs every file world-readable, and 755 on executables:
repost.aws/knowledge-center/lambda-deployment-package-errors). Caches and compiled bytecode are
left out: they differ run to run and Lambda ignores them.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
READABLE = 0o644
EXECUTABLE = 0o755
UNIX = 3  # ZipInfo.create_system: what makes readers honour the mode (Windows would write 0)
EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".venv"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})


def collect(root: Path) -> list[tuple[str, Path]]:
    """(name in the zip, path) for every file under `root` worth shipping, in zip order."""
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if EXCLUDED_DIRS.intersection(relative.parts) or path.suffix in EXCLUDED_SUFFIXES:
            continue
        if path.is_file():
            found.append((relative, path))
    return [(relative.as_posix(), path) for relative, path in sorted(found)]


def mode_of(path: Path) -> int:
    return EXECUTABLE if os.stat(path).st_mode & 0o111 else READABLE


def add_file(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.create_system = UNIX
    info.external_attr = mode_of(path) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, path.read_bytes(), compresslevel=9)


def write(archive: zipfile.ZipFile, entries: Iterable[tuple[str, Path]]) -> None:
    for name, path in entries:
        add_file(archive, name, path)


def total_size(entries: Iterable[tuple[str, Path]]) -> int:
    """Unzipped bytes, from the file system: known before anything is read or compressed."""
    return sum(path.stat().st_size for _, path in entries)
