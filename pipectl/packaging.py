"""The deployment zip, built deterministically (sorted entries, fixed timestamps and modes) so the
same code always gives the same CodeSha256 and an unchanged function is never re-uploaded."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipectl.errors import UsageError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16
EXCLUDED_DIRS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
HANDLER_MODULE = "app.py"
MAX_ZIP_BYTES = 50 * 1024 * 1024  # direct upload limit of CreateFunction


@dataclass(frozen=True)
class Package:
    zip_bytes: bytes
    files: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """The form Lambda reports as CodeSha256: base64 of the SHA-256 digest."""
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode("ascii")


def handler_dir(source: str | None) -> Path:
    """The folder to deploy: function.source if given, else the handler shipped with pipectl."""
    if source:
        path = Path(source).expanduser()
        key = "function.source"
    else:
        path = bundled_handler_dir()
        key = "the bundled handler"
    if not (path / HANDLER_MODULE).is_file():
        raise UsageError(
            f"{key}: {path} has no {HANDLER_MODULE}",
            "point function.source at a folder holding app.py",
        )
    return path


def bundled_handler_dir() -> Path:
    """handler/ in a source checkout; pipectl/_handler in an installed wheel."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir.parent / "handler", package_dir / "_handler"):
        if (candidate / HANDLER_MODULE).is_file():
            return candidate
    return package_dir.parent / "handler"


def build(source: str | None = None) -> Package:
    root = handler_dir(source)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not EXCLUDED_DIRS.intersection(p.relative_to(root).parts)
        and p.suffix not in EXCLUDED_SUFFIXES
    )
    buffer = io.BytesIO()
    names = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = path.relative_to(root).as_posix()
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
            names.append(name)
    data = buffer.getvalue()
    if len(data) > MAX_ZIP_BYTES:
        raise UsageError(
            f"the handler zip is {len(data)} bytes, over Lambda's 50 MB upload limit",
            "deploy fewer files",
        )
    return Package(data, tuple(names))
