"""A handler's requirements.txt, installed for the platform its code runs on, zipped once, cached.

pip runs as `sys.executable -m pip install --target <tmp> -r requirements.txt` with the
platform's options (platforms.py), through a `PipRunner` so that tests can stand in for pip. What
pip wrote is then cleaned of everything that differs between machines or runs (`clean`), zipped
deterministically, and kept as `<cache>/<key>/deps.zip` with a manifest, where the key hashes the
requirements file, the platform's identity and FORMAT: a build is reused only for exactly the same
inputs, never across architectures, Python versions, or Lambda and the emulator. Requirements are
resolved once per key: to pick up a newer release of an unpinned package, change requirements.txt
(pinning versions is better anyway) or delete the cache folder. Files the requirements refer to
(`-r other.txt`, a local wheel) are not part of the key either.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipectl.build import zipper
from pipectl.errors import BuildError
from pipectl.build.platforms import Platform

FORMAT = 1  # bump when what a cache entry holds changes
REQUIREMENTS = "requirements.txt"
ZIP_NAME = "deps.zip"
MANIFEST = "manifest.json"
PIP_LOG = "last-pip-output.log"
NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
VERSIONS = re.compile(r"satisfies the requirement (\S+) \(from versions: ([^)]*)\)")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
UNREACHABLE = ("NewConnectionError", "Could not fetch URL", "ProxyError", "ConnectTimeout")


@dataclass(frozen=True)
class Dist:
    """One installed distribution."""

    name: str
    version: str
    bytes: int


@dataclass(frozen=True)
class Dependencies:
    """The built dependencies: a zip to merge into the deployment package, and what it holds."""

    zip_path: Path
    packages: tuple[Dist, ...]
    files: tuple[str, ...]
    unzipped_bytes: int


@dataclass(frozen=True)
class PipResult:
    returncode: int
    output: str  # stdout and stderr


PipRunner = Callable[[list[str], Path], PipResult]  # (arguments after `-m pip`, cwd)


def run_pip(args: list[str], cwd: Path) -> PipResult:
    """pip of the Python running pipectl; it may install for another one (`--python`)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    return PipResult(proc.returncode, proc.stdout + proc.stderr)


def wanted(requirements: Path) -> bool:
    """A requirements.txt holding at least one requirement (not only comments)."""
    if not requirements.is_file():
        return False
    lines = requirements.read_text(encoding="utf-8", errors="replace").splitlines()
    return any(line.split("#", 1)[0].strip() for line in lines)


def cache_key(requirements: bytes, platform: Platform) -> str:
    identity = {"format": FORMAT, "platform": platform.identity()}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
    digest.update(hashlib.sha256(requirements).digest())
    return digest.hexdigest()[:32]


def pip_args(platform: Platform, requirements: Path, target: Path) -> list[str]:
    return [
        *platform.pip_global,
        "install",
        "--target", str(target),
        "--requirement", str(requirements),
        "--no-compile",
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--progress-bar", "off",
        *platform.pip_install,
    ]  # fmt: skip


def install(
    requirements: Path,
    platform: Platform,
    cache_dir: Path,
    run: PipRunner = run_pip,
    max_unzipped_bytes: int | None = None,
    on_install: Callable[[str], None] | None = None,
) -> Dependencies:
    """The dependencies for `platform`, from the cache or built now. Raises BuildError when pip
    fails (naming a package without a wheel for the platform) or the result is too big."""
    entry = cache_dir / cache_key(requirements.read_bytes(), platform)
    cached = load(entry)
    if cached is not None:
        return cached
    if on_install:
        on_install(f"installing {requirements} for {platform.label} (pip)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=cache_dir) as scratch:
        site, staged = Path(scratch, "site"), Path(scratch, "entry")
        result = run(pip_args(platform, requirements.resolve(), site), requirements.parent)
        if result.returncode != 0:
            log = cache_dir / PIP_LOG
            log.write_text(result.output, encoding="utf-8")
            raise pip_failure(result.output, platform, requirements, log)
        site.mkdir(exist_ok=True)  # pip makes none when every requirement was a no-op
        clean(site)
        entries = zipper.collect(site)
        size = zipper.total_size(entries)
        if max_unzipped_bytes is not None and size > max_unzipped_bytes:
            raise too_big(size, max_unzipped_bytes, read_dists(site))
        staged.mkdir()
        with zipfile.ZipFile(staged / ZIP_NAME, "w") as archive:
            zipper.write(archive, entries)
        manifest = {
            "format": FORMAT,
            "platform": platform.label,
            "packages": [asdict(d) for d in read_dists(site)],
            "files": [name for name, _ in entries],
            "unzipped_bytes": size,
        }
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        publish(staged, entry)
    built = load(entry)
    assert built is not None, f"cache entry {entry} vanished right after it was written"
    return built


def load(entry: Path) -> Dependencies | None:
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or not (entry / ZIP_NAME).is_file():
            return None
        return Dependencies(
            entry / ZIP_NAME,
            tuple(Dist(**d) for d in manifest["packages"]),
            tuple(manifest["files"]),
            int(manifest["unzipped_bytes"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def publish(staged: Path, entry: Path) -> None:
    """Move a finished build into place in one step: a reader sees all of it or nothing. A
    broken entry is replaced; one that a parallel build published meanwhile is kept."""
    if entry.exists() and load(entry) is None:
        shutil.rmtree(entry, ignore_errors=True)
    try:
        staged.rename(entry)
    except OSError:
        if load(entry) is None:
            raise


# What pip leaves that must not reach the zip ------------------------------------------------


def clean(site: Path) -> None:
    """Remove what differs between machines or runs, or what Lambda cannot use:

    - `bin/`: console scripts, whose first line names this machine's interpreter;
    - `__pycache__/`, `*.pyc` (pip runs with --no-compile; a build backend might not);
    - `*.dist-info/direct_url.json`: the local path or VCS URL a package came from;
    - in `*.dist-info/RECORD`, rows for files that were removed or lie outside the folder
      (`../../bin/...`, with a hash of that interpreter-specific script); the rest is sorted.
    """
    shutil.rmtree(site / "bin", ignore_errors=True)
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for compiled in [*site.rglob("*.pyc"), *site.rglob("*.pyo")]:
        compiled.unlink()
    for dist_info in sorted(site.glob("*.dist-info")):
        (dist_info / "direct_url.json").unlink(missing_ok=True)
        record = dist_info / "RECORD"
        if record.is_file():
            record.write_text(kept_record(site, record.read_text(encoding="utf-8")), "utf-8")


def kept_record(site: Path, text: str) -> str:
    root = site.resolve()
    kept = []
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        path = (site / row[0]).resolve()
        if path.is_relative_to(root) and path.is_file():
            kept.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(sorted(kept))
    return out.getvalue()


def read_dists(site: Path) -> list[Dist]:
    """Name, version and installed size of every distribution, from its dist-info."""
    dists = []
    for dist_info in sorted(site.glob("*.dist-info")):
        headers = metadata_headers(dist_info / "METADATA")
        record = dist_info / "RECORD"
        rows = csv.reader(io.StringIO(record.read_text("utf-8"))) if record.is_file() else []
        size = sum((site / row[0]).stat().st_size for row in rows if row)
        dists.append(Dist(headers.get("Name", dist_info.name), headers.get("Version", "?"), size))
    return sorted(dists, key=lambda d: d.name.lower())


def metadata_headers(path: Path) -> dict[str, str]:
    """The first Name and Version of a METADATA file (RFC 822 headers, then a blank line)."""
    headers: dict[str, str] = {}
    if not path.is_file():
        return headers
    for line in path.read_text("utf-8", errors="replace").splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        if key in {"Name", "Version"} and key not in headers:
            headers[key] = value.strip()
    return headers


# pip's failures as pipectl's messages ---------------------------------------------------------


def pip_failure(output: str, platform: Platform, requirements: Path, log: Path) -> BuildError:
    if "No module named pip" in output:
        return BuildError(
            f"pip is not installed for the Python running pipectl ({sys.executable})",
            f"install it: {sys.executable} -m ensurepip --upgrade",
        )
    if any(marker in output for marker in UNREACHABLE):
        return BuildError(
            f"pip could not reach the package index to install {requirements}",
            f"check the network or proxy (pip's own settings apply); pip's output: {log}",
        )
    missing = NO_MATCH.search(output)
    if missing:
        return no_wheel(missing.group(1), output, platform, requirements)
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    last = (errors or lines or ["no output"])[-1]
    return BuildError(
        f"pip could not install {requirements} for {platform.label}: {last}",
        f"fix {requirements.name}; pip's full output: {log}",
    )


def no_wheel(requirement: str, output: str, platform: Platform, requirements: Path) -> BuildError:
    """The requirement that has no wheel for the platform, and what the user can do about it."""
    found = NAME.match(requirement)
    name = found.group(0) if found else requirement
    versions = next(
        (v for r, v in VERSIONS.findall(output) if r == requirement and v.strip() != "none"), ""
    )
    where = f"{platform.label} (CPython {platform.python_version}, {platform.machine})"
    if versions:
        usable = [v.strip() for v in versions.split(",")][-5:]
        return BuildError(
            f"{requirements.name}: no wheel of {requirement} for {where}; "
            f"versions with one: {', '.join(usable)}",
            f"pin one of those, e.g. {name}=={usable[-1]}",
        )
    fix = (
        "Lambda cannot compile packages: use a version or an alternative package that "
        f"publishes a manylinux wheel for it (https://pypi.org/project/{name}/#files), "
        "or change function.architecture / function.runtime"
    )
    if platform.target == "local":
        fix = f"use a package (or version) that publishes a wheel for {where}"
    return BuildError(f"{requirements.name}: {name} has no wheel for {where}", fix)


def too_big(size: int, limit: int, dists: list[Dist]) -> BuildError:
    largest = sorted(dists, key=lambda d: d.bytes, reverse=True)[:3]
    shown = ", ".join(f"{d.name} {megabytes(d.bytes)}" for d in largest)
    return BuildError(
        f"the dependencies take {megabytes(size)} unzipped, over Lambda's "
        f"{megabytes(limit)} limit (largest: {shown})",
        "drop packages the Lambda runtime already has (boto3, botocore) or that the function "
        "does not need; beyond that, deploy a container image",
    )


def megabytes(n_bytes: int) -> str:
    """A size for people: KB below one MB (MB = MiB, as Lambda counts its limits)."""
    if n_bytes < 1_048_576:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / 1_048_576:.1f} MB"
