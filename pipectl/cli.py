"""The command line: parse flags, call the core, render. Nothing else lives here."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pipectl import __version__
from pipectl.cli_edge import command, end_without_teardown, fewer_collections, without_pydantic
from pipectl.errors import EXIT_INTERRUPTED, UsageError
from pipectl.runtime import GlobalOptions, Runtime

app = typer.Typer(
    name="pipectl",
    help="Build, check, watch and remove an S3 -> Lambda -> DynamoDB pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
local_app = typer.Typer(
    help="The embedded AWS emulator (no account, no Docker).", no_args_is_help=True
)
app.add_typer(local_app, name="local")


def version_callback(value: bool) -> None:
    if value:
        print(f"pipectl {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Build, check, watch and remove an S3 -> Lambda -> DynamoDB pipeline."""


@command(app)
def init(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    path: Annotated[str, typer.Option("--path", metavar="PATH", help="Where to write.")] = (
        "pipectl.yaml"
    ),
    handler: Annotated[
        str | None,  # strings, not Paths: see PlainValues
        typer.Option(
            "--handler",
            metavar="DIR",
            help="Scaffold your own handler in DIR (app.py, requirements.txt, test_app.py) and "
            "set function.source (an existing config keeps everything else).",
        ),
    ] = None,
) -> int:
    """Write pipectl.yaml from config.example.yaml, names filled in."""
    from pipectl.config import file as configfile

    if handler is not None:
        from pipectl.commands import code as code_commands

        return code_commands.init_handler(opts, ui, Path(handler), Path(path), force)
    written = configfile.write_initial(Path(path), force=force, region=opts.region)
    if opts.json:
        ui.document({"ok": True, "path": str(written)})
    else:
        ui.info(f"wrote [bold]{written}[/]: edit it, then run `pipectl up`")
    return 0


@command(app)
def up(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    role: Annotated[str | None, typer.Option("--role", help="Use this existing IAM role.")] = None,
    create_role: Annotated[
        bool, typer.Option("--create-role", help="Create a least-privilege role.")
    ] = False,
) -> int:
    """Create or converge the bucket, table, role, log group, queue, function, permission and
    trigger."""
    from pipectl.commands import lifecycle

    return lifecycle.up(opts, ui, runtime, dry_run=dry_run, role=role, create_role=create_role)


@command(app)
def status(opts: GlobalOptions, ui: Any, runtime: Runtime) -> int:
    """Show every resource, whether it exists, who manages it, and its drift from the config."""
    from pipectl.commands import lifecycle

    return lifecycle.status(opts, ui, runtime)


@command(app)
def down(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    delete_data: Annotated[
        bool, typer.Option("--delete-data", help="Empty and delete a bucket/table that holds data.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
) -> int:
    """Remove what pipectl made, and nothing else."""
    from pipectl.commands import lifecycle

    if not (yes or dry_run) and not sys.stdin.isatty():
        # Refused before any AWS call: a script must say --yes (or --dry-run) explicitly.
        raise UsageError("down needs confirmation but there is no terminal", "pass --yes")

    def confirm(prompt: str) -> bool:
        return typer.confirm(prompt, default=False, err=True)

    return lifecycle.down(
        opts,
        ui,
        runtime,
        delete_data=delete_data,
        dry_run=dry_run,
        confirm=None if yes else confirm,
    )


@command(app)
def backfill(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    prefix: Annotated[str, typer.Option("--prefix", help="Only keys starting with this.")] = "",
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only objects modified since 10m, 2h, 1d or an ISO time."),
    ] = None,
    everything: Annotated[
        bool,
        typer.Option("--all", help="Every object (default: only objects with no item yet)."),
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Records per invocation (1-1000).")
    ] = 100,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Invocations in flight (1-20).")
    ] = 8,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be sent; invoke nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> int:
    """Send objects already in the bucket through the function (it runs on Lambda)."""
    from pipectl.commands import data as data_commands

    def confirm(prompt: str) -> bool:
        return typer.confirm(prompt, default=False, err=True)

    return data_commands.backfill(
        opts,
        ui,
        runtime,
        prefix=prefix,
        since=since,
        everything=everything,
        batch_size=batch_size,
        concurrency=concurrency,
        dry_run=dry_run,
        confirm=None if yes else confirm,
        can_ask=sys.stdin.isatty(),
    )


@command(app)
def results(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    prefix: Annotated[str, typer.Option("--prefix", help="Only keys starting with this.")] = "",
    limit: Annotated[int, typer.Option("--limit", help="How many items at most.")] = 20,
) -> int:
    """The table's items (the first --limit a scan finds, newest first among them)."""
    from pipectl.commands import data as data_commands

    return data_commands.results(opts, ui, runtime, prefix=prefix, limit=limit)


@command(app)
def verify(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="How long to wait for item and logs."),
    ] = 60.0,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the probe object and item (default: removed).")
    ] = False,
) -> int:
    """Upload a probe file and follow it: its DynamoDB item, then its CloudWatch log lines."""
    from pipectl.commands import checks

    return checks.verify(opts, ui, runtime, timeout=timeout, keep=keep)


@command(app)
def logs(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    since: Annotated[
        str, typer.Option("--since", help="10m, 2h, 1d, 30s, or an ISO time (no zone: UTC).")
    ] = "10m",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling for new events until Ctrl-C.")
    ] = False,
    filter_pattern: Annotated[
        str | None, typer.Option("--filter", help="A CloudWatch Logs filter pattern.")
    ] = None,
) -> int:
    """The function's CloudWatch log events (--json: one JSON object per line)."""
    from pipectl.commands import checks

    return checks.logs(opts, ui, runtime, since=since, follow=follow, filter_pattern=filter_pattern)


@command(app)
def stats(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    since: Annotated[
        str, typer.Option("--since", help="1h, 10m, 1d, or an ISO time (no zone: UTC).")
    ] = "1h",
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh in place until Ctrl-C.")
    ] = False,
) -> int:
    """Invocations, errors, retries, cold starts, latency percentiles and what it all costs."""
    from pipectl.commands import checks

    return checks.stats(opts, ui, runtime, since=since, watch=watch)


@command(app)
def package(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Zip to write (default ./<function>.zip)."),
    ] = None,
) -> int:
    """Write the exact deployment zip `up` uploads (--local: the emulator's); no AWS call."""
    from pipectl.commands import code as code_commands

    return code_commands.package(opts, ui, runtime, output)


@command(app)
def invoke(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    key: Annotated[
        str | None, typer.Option("--key", help="Send an S3 ObjectCreated event for this key.")
    ] = None,
    event: Annotated[
        Path | None, typer.Option("--event", metavar="FILE", help="Send this JSON event.")
    ] = None,
) -> int:
    """Send one event through the deployed function and show its result and log tail."""
    from pipectl.commands import code as code_commands

    return code_commands.invoke(opts, ui, runtime, key, event)


@command(app)
def replay(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Replay without asking for confirmation.")
    ] = False,
    max_messages: Annotated[
        int | None, typer.Option("--max", metavar="N", help="Read at most N messages.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the failed events; replay nothing.")
    ] = False,
) -> int:
    """Invoke the function again with each failed event waiting in the on-failure queue."""
    from pipectl.commands import replay as replay_command

    if not (yes or dry_run) and not sys.stdin.isatty():
        # Refused before any AWS call: a script must say --yes (or --dry-run) explicitly.
        raise UsageError(
            "replay needs confirmation but there is no terminal",
            "pass --yes (or --dry-run to only list the failed events)",
        )

    def confirm(prompt: str) -> bool:
        return typer.confirm(prompt, default=False, err=True)

    return replay_command.replay(
        opts,
        ui,
        runtime,
        max_messages=max_messages,
        dry_run=dry_run,
        confirm=None if yes else confirm,
    )


@command(local_app, "start")
def local_start(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default 5050, or a free one).")
    ] = None,
) -> int:
    """Start the emulator in the background (no-op when it already runs)."""
    from pipectl.commands import emulator

    return emulator.local_start(opts, ui, runtime, port)


@command(local_app, "stop")
def local_stop(opts: GlobalOptions, ui: Any, runtime: Runtime) -> int:
    """Stop the emulator."""
    from pipectl.commands import emulator

    return emulator.local_stop(opts, ui, runtime)


@command(local_app, "status")
def local_status(opts: GlobalOptions, ui: Any, runtime: Runtime) -> int:
    """Say whether the emulator runs, where, and for how long."""
    from pipectl.commands import emulator

    return emulator.local_status(opts, ui, runtime)


def run() -> None:
    """The console script's and `python -m pipectl`'s entry point: main, in a process that ends
    without CPython's teardown (cli_edge.end_without_teardown)."""
    end_without_teardown(main)


def app_for(args: list[str]) -> typer.Typer:
    """`app`, or when `args` start with the name of one of its commands, a copy of it holding
    that command alone. Typer builds every command an app holds on each run (reading each
    signature and its annotations: 14-26 ms of CPU for pipectl's), and a run uses one; help,
    --version, `local` and unknown names (which click answers with suggestions) get them all."""
    name = args[0] if args else ""
    chosen = [info for info in app.registered_commands if command_name(info) == name]
    if not chosen:
        return app
    lean = copy.copy(app)
    lean.registered_commands = chosen
    lean.registered_groups = []
    return lean


def command_name(info: Any) -> str:
    """The name Typer gives a registered command: its own, else its function's, dashed."""
    return info.name or typer.main.get_command_name(info.callback.__name__)


def main() -> None:
    """The command line, as a function (in-process callers and tests use this one)."""
    fewer_collections()
    try:
        without_pydantic(typer.main.get_command(app_for(sys.argv[1:])))(prog_name="pipectl")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
