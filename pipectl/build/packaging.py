"""The deployment zip: the handler folder plus, when it has a requirements.txt, the packages it
names, installed for the platform the function runs on (dependencies.py, platforms.py).

Built deterministically (zipper.py) so the same inputs always give the same CodeSha256 and an
unchanged function is never re-uploaded. The dependencies' zip is built once per platform and
cached; each build copies it and adds the handler's own files after it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipectl.build import dependencies
from pipectl.build import zipper
from pipectl.build.dependencies import Dist, PipRunner
from pipectl.errors import BuildError, UsageError
from pipectl.build.platforms import Platform, lambda_platform, local_platform

HANDLER_MODULE = "app.py"
REQUIREMENTS = dependencies.REQUIREMENTS
# Lambda refuses code over 250 MiB unzipped: "Unzipped size must be smaller than 262144000
# bytes" (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 250 MB, unzipped).
MAX_UNZIPPED_BYTES = 262_144_000
# A zip sent in the request (ZipFile) travels base64-encoded in a JSON body that Lambda caps at
# 69,905,067 bytes ("Request must be smaller than 69905067 bytes for the CreateFunction
# operation"): about 50 MB of zip. Larger packages must be uploaded to S3 first.
MAX_REQUEST_BYTES = 69_905_067
REQUEST_ENVELOPE_BYTES = 64 * 1024  # the other parameters: names, environment, tags
# pipectl's own keys in the pipeline's bucket: a package too big for the request waits there
# while Lambda takes it, and is deleted right after (`down` removes any left behind).
CODE_PREFIX = ".pipectl/code/"


@dataclass(frozen=True)
class Package:
    zip_bytes: bytes
    files: tuple[str, ...]
    packages: tuple[Dist, ...] = ()
    unzipped_bytes: int = 0

    @property
    def sha256(self) -> str:
        """The form Lambda reports as CodeSha256: base64 of the SHA-256 digest."""
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode("ascii")

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.zip_bytes).hexdigest()

    def bucket_key(self, function_name: str) -> str:
        """Where `up` puts this package in the pipeline's bucket when it is too big to send."""
        return f"{CODE_PREFIX}{function_name}/{self.sha256_hex}.zip"

    @property
    def fits_direct_upload(self) -> bool:
        """Whether CreateFunction/UpdateFunctionCode can take the zip in the request itself."""
        return fits_in_request(len(self.zip_bytes))


def fits_in_request(zip_bytes: int) -> bool:
    encoded = 4 * math.ceil(zip_bytes / 3)  # base64
    return encoded + REQUEST_ENVELOPE_BYTES < MAX_REQUEST_BYTES


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
    package_dir = Path(__file__).resolve().parent.parent  # pipectl/: this module is in pipectl/build/
    for candidate in (package_dir.parent / "handler", package_dir / "_handler"):
        if (candidate / HANDLER_MODULE).is_file():
            return candidate
    return package_dir.parent / "handler"


def platform_for(function: Any, local: bool, home: Path | None = None) -> Platform:
    """The platform a function's code runs on: Lambda's, or the emulator's (`--local`, whose
    record under `home` says which Python it runs the runtime with)."""
    if local:
        return local_platform(function.runtime, home)
    return lambda_platform(function.runtime, function.architecture)


def build_for(
    function: Any,
    local: bool,
    home: Path,
    run_pip: PipRunner = dependencies.run_pip,
    on_install: Callable[[str], None] | None = None,
) -> Package:
    """The package `up` deploys for `function` (a config FunctionSpec), dependencies built under
    `home`/deps. The platform is worked out only when there is something to install (finding
    the emulator's Python may run it)."""
    requirements = handler_dir(function.source) / REQUIREMENTS
    platform = platform_for(function, local, home) if dependencies.wanted(requirements) else None
    return build(function.source, platform, home / "deps", run_pip, on_install)


def build(
    source: str | None = None,
    platform: Platform | None = None,
    cache_dir: Path | None = None,
    run_pip: PipRunner = dependencies.run_pip,
    on_install: Callable[[str], None] | None = None,
) -> Package:
    """The zip of `source` (default: the bundled handler). A requirements.txt naming packages
    needs the `platform` to install them for and a `cache_dir` to keep the build in."""
    root = handler_dir(source)
    # requirements.txt is build input, not code, and may name a private index with its token.
    own = [(name, path) for name, path in zipper.collect(root) if name != REQUIREMENTS]
    own_bytes = zipper.total_size(own)
    deps = None
    if dependencies.wanted(root / REQUIREMENTS):
        if platform is None or cache_dir is None:
            raise ValueError("installing requirements.txt needs a platform and a cache_dir")
        deps = dependencies.install(
            root / REQUIREMENTS,
            platform,
            cache_dir,
            run_pip,
            max_unzipped_bytes=MAX_UNZIPPED_BYTES - own_bytes,
            on_install=on_install,
        )
    unzipped = own_bytes + (deps.unzipped_bytes if deps else 0)
    check_unzipped_size(unzipped, own_bytes, root)
    names = [name for name, _ in own]
    buffer = io.BytesIO()
    if deps:
        check_no_overlap(names, deps, root)
        with deps.zip_path.open("rb") as cached:
            shutil.copyfileobj(cached, buffer)
    with zipfile.ZipFile(buffer, "a" if deps else "w") as archive:
        zipper.write(archive, own)
    files = (deps.files if deps else ()) + tuple(names)
    return Package(buffer.getvalue(), files, deps.packages if deps else (), unzipped)


def check_unzipped_size(unzipped: int, own_bytes: int, root: Path) -> None:
    if unzipped <= MAX_UNZIPPED_BYTES:
        return
    mb = dependencies.megabytes
    raise BuildError(
        f"the deployment package would take {mb(unzipped)} unzipped ({root}: {mb(own_bytes)}), "
        f"over Lambda's {mb(MAX_UNZIPPED_BYTES)} limit",
        "leave large data files out of function.source (read them from S3 instead) and drop "
        "packages the function does not need",
    )


def check_no_overlap(names: list[str], deps: dependencies.Dependencies, root: Path) -> None:
    """A file of the handler folder that a package also installs would shadow it unpredictably."""
    clashes = sorted(set(names).intersection(deps.files))
    if clashes:
        raise BuildError(
            f"{root}/{clashes[0]} is also installed by a package in {REQUIREMENTS}"
            + (f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""),
            f"remove your copy from {root}, or the package from {REQUIREMENTS}",
        )
