"""The flows of the commands for a user's own handler: `package`, `invoke`, `init --handler`.
Like the other commands: load and check input, call the core, hand results to the UI; exit
codes out, PipectlError up to the CLI edge."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from pipectl.build.dependencies import megabytes
from pipectl.commands import common as commands
from pipectl.errors import EXIT_FAILED, EXIT_OK, UsageError
from pipectl.runtime import GlobalOptions, Runtime, load_config
from pipectl.ui import UI


def package(opts: GlobalOptions, ui: UI, runtime: Runtime, output: Path | None) -> int:
    """Write the exact zip `up` would deploy (with --local: the one `up --local` deploys)."""
    spec = load_config(opts)
    path = output_path(output, spec.function.name)
    built = commands.deployment_package(opts, ui, runtime, spec)
    try:
        path.write_bytes(built.zip_bytes)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", "pass another --output") from None
    packages = [{"name": d.name, "version": d.version} for d in built.packages]
    if opts.json:
        ui.document(
            {
                "path": str(path),
                "sha256": built.sha256,
                "bytes": len(built.zip_bytes),
                "packages": packages,
            }
        )
        return EXIT_OK
    function = spec.function
    target = "the emulator" if opts.local else f"Lambda {function.runtime} {function.architecture}"
    ui.info(f"wrote [bold]{commands.literal(str(path))}[/] for {target}")
    ui.info(f"  CodeSha256 {built.sha256}")
    ui.info(
        f"  {megabytes(len(built.zip_bytes))} zipped, {megabytes(built.unzipped_bytes)} "
        f"unzipped, {len(built.files)} files"
    )
    shown = ", ".join(f"{p['name']} {p['version']}" for p in packages)
    ui.info(f"  packages: {shown or 'none'}")
    if not built.fits_direct_upload:
        ui.info("  over the ~50 MB a request holds: `up` sends it through the pipeline's bucket")
    return EXIT_OK


def output_path(output: Path | None, function_name: str) -> Path:
    """--output, a folder to write into, or ./<function>.zip. An existing file is replaced only
    when it is a zip (an earlier package), never some other file of the user's."""
    path = output or Path(f"{function_name}.zip")
    if path.is_dir():
        path = path / f"{function_name}.zip"
    if path.exists() and magic(path) not in {b"PK\x03\x04", b"PK\x05\x06"}:
        raise UsageError(f"{path} exists and is not a zip file", "pass another --output")
    return path


def magic(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(4)


def invoke(
    opts: GlobalOptions, ui: UI, runtime: Runtime, key: str | None, event_file: Path | None
) -> int:
    """One event through the deployed function (RequestResponse), its result and log tail."""
    from pipectl import invoke as invoke_core

    event = invoke_core.check_flags(key, event_file)  # bad input fails before any AWS call
    spec = load_config(opts)
    ctx = commands.connect(opts, ui, runtime, spec)
    if key is not None:
        head = invoke_core.head_object(ctx.client("s3"), ctx.bucket_name, key)
        if head is None:  # on stderr: a --json document on stdout stays whole
            ui.warn(
                f"no object {key} in {ctx.bucket_name}: the event carries no size or eTag, and "
                "the bundled handler skips such a record as malformed; upload it first "
                f"(aws s3 cp FILE {shlex.quote(f's3://{ctx.bucket_name}/{key}')})"
            )
        event = invoke_core.s3_event(
            ctx.bucket_name, key, ctx.region, f"pipectl-{spec.pipeline}", head
        )
    read_timeout = spec.function.timeout_s + invoke_core.READ_TIMEOUT_MARGIN_S
    lam = ctx.aws.client("lambda", read_timeout=read_timeout)
    result = invoke_core.invoke(lam, spec.function.name, event)
    if opts.json:
        ui.document(result.as_json())
    else:
        render_invoke(ui, spec.function.name, result)
    return EXIT_OK if result.ok else EXIT_FAILED


def render_invoke(ui: UI, function_name: str, result: Any) -> None:
    for line in result.log_tail:
        ui.info(f"[dim]{commands.literal(line)}[/]")
    if result.ok:
        shown = json.dumps(result.payload, indent=2, ensure_ascii=False)
        ui.info(f"[green]{function_name} returned[/] (status {result.status_code}):")
        ui.info(commands.literal(shown))
    else:
        ui.info(
            f"[bold red]{function_name} failed[/] ({result.function_error}): "
            f"{commands.literal(result.error_type)}"
        )


def init_handler(opts: GlobalOptions, ui: UI, directory: Path, config: Path, force: bool) -> int:
    from pipectl import scaffold

    done = scaffold.init_handler(directory, config, force=force, region=opts.region)
    if opts.json:
        ui.document(
            {
                "ok": True,
                "handler": str(done.handler),
                "files": [str(f) for f in done.files],
                "config": str(done.config),
                "config_created": done.config_created,
            }
        )
        return EXIT_OK
    names = ", ".join(f.name for f in done.files)
    how = "wrote" if done.config_created else "set function.source in"
    ui.info(f"wrote {commands.literal(str(done.handler))}/: {names}")
    ui.info(f"{how} [bold]{commands.literal(str(done.config))}[/] (function.source: {done.source})")
    ui.info(
        f"next: edit app.py and requirements.txt; test with `python -m pytest {done.source}`; "
        "deploy with `pipectl up` (or try it on the emulator: `pipectl up --local`, upload a "
        "file, then `pipectl invoke --local --key <its key>`)"
    )
    return EXIT_OK
