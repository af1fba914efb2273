"""How every command is wired to the command line: the global flags each command takes after its
name, the error edge (every pipectl error becomes one or two lines and its exit code; no traceback
reaches a user), Typer's option conversion without pydantic, the garbage collector held off
while a command starts, and the process's end without CPython's teardown."""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import inspect
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any

import typer

from pipectl.errors import EXIT_INTERRUPTED, PipectlError
from pipectl.runtime import GlobalOptions, Runtime


def global_option(
    name: str, default: Any, kind: Any, *flags: str, **option: Any
) -> inspect.Parameter:
    """One of the flags every command takes after its name."""
    annotation = Annotated[kind, typer.Option(*flags, **option)]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


COMMON_PARAMETERS = [
    global_option(
        "config",
        None,
        str | None,  # a string, not a Path: see PlainValues
        "--config",
        "-c",
        metavar="PATH",
        envvar="PIPECTL_CONFIG",
        help="Config file (default ./pipectl.yaml when present).",
        show_default=False,
    ),
    global_option("profile", None, str | None, help="AWS profile (else AWS_PROFILE / default)."),
    global_option("region", None, str | None, help="AWS region (wins over the config)."),
    global_option(
        "endpoint_url", None, str | None, help="AWS-compatible endpoint (else AWS_ENDPOINT_URL)."
    ),
    global_option(
        "local", False, bool, "--local", help="Use the embedded emulator (started if needed)."
    ),
    global_option("json_output", False, bool, "--json", help="Print one JSON document on stdout."),
    global_option("verbose", False, bool, "--verbose", "-v", help="Show each AWS call."),
]
COMMON_NAMES = [p.name for p in COMMON_PARAMETERS]


def command(group: typer.Typer, name: str | None = None) -> Callable[[Callable[..., int]], Any]:
    """Register a command that takes the global flags after its name. The wrapped function gets
    (opts, ui, runtime, **its own flags) and returns an exit code; every pipectl error becomes
    one or two lines and its exit code here, so no traceback ever reaches a user."""

    def decorate(func: Callable[..., int]) -> Any:
        own = [
            p
            for p in inspect.signature(func, eval_str=True).parameters.values()
            if p.name not in {"opts", "ui", "runtime"}
        ]
        ctx_param = inspect.Parameter(
            "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )

        @functools.wraps(func)
        def wrapper(ctx: typer.Context, **kwargs: Any) -> None:
            from pipectl.ui import UI

            common = {name: kwargs.pop(name) for name in COMMON_NAMES}
            opts = GlobalOptions(
                config=str(common["config"]) if common["config"] else None,
                profile=common["profile"],
                region=common["region"],
                endpoint_url=common["endpoint_url"],
                local=common["local"],
                json=common["json_output"],
                verbose=common["verbose"],
            )
            ui = UI(json_mode=opts.json, verbose=opts.verbose)
            runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime()
            code = run_safely(
                lambda: func(opts=opts, ui=ui, runtime=runtime, **kwargs), ui, opts, func.__name__
            )
            raise typer.Exit(code)

        wrapper.__signature__ = inspect.Signature([ctx_param, *own, *COMMON_PARAMETERS])  # type: ignore[attr-defined]
        return group.command(name=name)(wrapper)

    return decorate


def run_safely(call: Callable[[], int], ui: Any, opts: GlobalOptions, name: str = "") -> int:
    from pipectl.aws import is_botocore_error, translate

    try:
        return call()
    except PipectlError as exc:
        report_error(ui, opts, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        again = f": run `pipectl {name}` again to finish" if name in {"up", "down"} else ""
        ui.info(f"[yellow]interrupted[/]{again}")
        if opts.json:
            ui.document({"ok": False, "error": "interrupted"})
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not is_botocore_error(exc):
            raise
        error = translate(exc)
        report_error(ui, opts, error)
        return error.exit_code


def report_error(ui: Any, opts: GlobalOptions, exc: PipectlError) -> None:
    ui.error(exc)
    if opts.json:
        ui.document({"ok": False, "error": exc.message, "hint": exc.hint})


class PlainValues:
    """Typer's conversion of one option, minus pydantic where the value already is what the
    option wants: Typer 0.29 builds a pydantic TypeAdapter for every option it converts, even
    for an option left unset (None) or a string given to a string option, and importing pydantic
    for that costs ~60 ms of a run. Any other value (a number given as text) is converted by
    Typer itself, unchanged. Path options are declared as strings for this reason: Typer
    converts a Path through pydantic too."""

    PLAIN = (str, int, float, Path)

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self.full: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None and not (param.multiple or param.nargs == -1):
            return None
        if type(value) in self.PLAIN and value_fits(value, self.descriptor.annotation):
            return value
        if self.full is None:
            from typer._coercion import build_runtime_param

            self.full = build_runtime_param(self.descriptor)
        return self.full.coerce(value, param=param, ctx=ctx)


def value_fits(value: Any, annotation: Any) -> bool:
    """`value` is of `annotation`'s type, or of one of an Optional's (no conversion needed)."""
    members = getattr(annotation, "__args__", None) if type(annotation) is UnionType else None
    return any(type(value) is member for member in (members or (annotation,)))


def without_pydantic(command: Any) -> Any:
    """`command` with PlainValues for each option's conversion (where this Typer has them)."""
    help_option = command.get_help_option(typer.Context(command))  # made once, then reused
    for param in [*getattr(command, "params", []), help_option]:
        if hasattr(param, "_runtime_param") and hasattr(param, "type_descriptor"):
            param._runtime_param = PlainValues(param.type_descriptor)
    for sub in getattr(command, "commands", {}).values():
        without_pydantic(sub)
    return command


GC_PAUSE_S = 10.0  # no cyclic garbage collection for this long after start


def fewer_collections(pause_s: float = GC_PAUSE_S) -> threading.Timer:
    """Hold the cyclic garbage collector off while a command starts. Its first seconds allocate
    a few hundred thousand objects that live until it exits, none of them cyclic garbage
    (modules, botocore's service models and endpoint rules): CPython scans them in some 200
    collections, about a tenth of the CPU of a no-change `up` (benchmarks/bench_chalice.py), to
    find nothing. A command still running after `pause_s` (`logs -f`, `stats --watch`, a long
    backfill) gets the collector back; reference counting frees everything else meanwhile."""
    gc.disable()
    timer = threading.Timer(pause_s, gc.enable)
    timer.daemon = True
    timer.start()
    return timer


STATUS_FLUSH_FAILED = 120  # what CPython exits with when stdout cannot be flushed at exit


@dataclass
class ProcessEnd:
    status: int = 1  # a traceback (an exception main let through), as CPython reports it


def end_without_teardown(main: Callable[[], None]) -> None:
    """Run `main` as the process's entry point, and let the process end without CPython's
    teardown. After a command, that teardown collects the objects of the run that only
    reference cycles still hold (~46,000 after a no-change `up`: botocore's clients and their
    models, Typer's command tree) and frees every module: ~100 ms of the ~0.9 s of CPU of such
    an `up`, for memory the operating system takes back anyway.

    Everything else of a normal exit still happens, in its order: a message of SystemExit is
    printed, non-daemon threads are joined, atexit handlers run (this one last), stdout and
    stderr are flushed; then os._exit with the status CPython would have used. Only the console
    script and `python -m pipectl` use it: a process that calls `cli.main` (a test) ends as
    usual, and so does one where an atexit handler was registered before `main` started."""
    end = ProcessEnd()
    if nothing_registered_at_exit():
        atexit.register(end_now, end)
    try:
        main()
    except SystemExit as exc:
        end.status = exit_status(exc.code)
        raise
    except KeyboardInterrupt:
        end.status = 128 + 2  # SIGINT: what a shell reports for an interrupted CPython
        raise
    else:
        end.status = 0


def exit_status(code: object) -> int:
    """CPython's status for `SystemExit(code)`: None is 0, an int itself, anything else 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def nothing_registered_at_exit() -> bool:
    """Whether no atexit handler is registered yet, so that one registered now runs last (atexit
    is last-in, first-out). A sitecustomize, coverage.py's process start-up (which saves its data
    then) or a .pth that calls certifi.where() (certifi registers one) may have registered one
    that must run: such a process ends the usual way. The
    count is CPython's own (`atexit._ncallbacks`, 3.10-3.13); without it, the usual way too."""
    count = getattr(atexit, "_ncallbacks", None)
    return count is not None and count() == 0


def end_now(end: ProcessEnd) -> None:
    status = end.status
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe (`pipectl status | head -1`) or stream
        status = STATUS_FLUSH_FAILED
    with contextlib.suppress(OSError, ValueError):  # nowhere left to tell; CPython ignores it too
        sys.stderr.flush()
    os._exit(status)
