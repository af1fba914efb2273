"""`pipectl local start|stop|status`: the embedded emulator's process."""

from __future__ import annotations

from typing import Any

from pipectl.errors import EXIT_FAILED, EXIT_OK
from pipectl.runtime import GlobalOptions, Runtime
from pipectl.ui import UI, escape


def local_start(opts: GlobalOptions, ui: UI, runtime: Runtime, port: int | None) -> int:
    from pipectl.local import server

    info, started = server.start(port=port, home=runtime.pipectl_home)
    runtimes = server.runtime_interpreters(runtime.pipectl_home)
    emit_emulator(opts, ui, info, "started" if started else "already running", runtimes)
    return EXIT_OK


def local_stop(opts: GlobalOptions, ui: UI, runtime: Runtime) -> int:
    from pipectl.local import server

    info = server.stop(home=runtime.pipectl_home)
    if opts.json:
        ui.document({"ok": True, "stopped": info is not None, "pid": info.pid if info else None})
    else:
        ui.info(f"emulator stopped (pid {info.pid})" if info else "emulator was not running")
    return EXIT_OK


def local_status(opts: GlobalOptions, ui: UI, runtime: Runtime) -> int:
    from pipectl.local import server

    info = server.status(home=runtime.pipectl_home)
    if info is None:
        if opts.json:
            ui.document({"running": False})
        else:
            ui.info("emulator is not running: `pipectl local start` (or any command with --local)")
        return EXIT_FAILED
    emit_emulator(opts, ui, info, "running", server.runtime_interpreters(runtime.pipectl_home))
    return EXIT_OK


def emit_emulator(
    opts: GlobalOptions, ui: UI, info: Any, state: str, runtimes: dict[str, dict[str, str]]
) -> None:
    """The emulator's process, and which Python each function runtime has run on since it
    started (`runtimes`: runtime -> {"executable", "version", "source", "warning"})."""
    if opts.json:
        ui.document(
            {
                "running": True,
                "state": state,
                "pid": info.pid,
                "port": info.port,
                "endpoint_url": info.endpoint_url,
                "uptime_s": round(info.uptime_s, 1),
                "runtimes": runtimes,
            }
        )
        return
    ui.info(
        f"emulator {state} at [bold]{info.endpoint_url}[/] (pid {info.pid}, "
        f"up {format_duration(info.uptime_s)})"
    )
    for name, ran_on in sorted(runtimes.items()):
        ui.info(f"  {runtime_line(name, ran_on)}")


def runtime_line(runtime: str, ran_on: dict[str, str]) -> str:
    """`python3.12: Python 3.12.1 (/usr/bin/python3.12, on PATH)`, with the fallback named."""
    where = escape(f"{ran_on['executable']}, {ran_on['source']}")  # a path is not markup
    line = f"{runtime}: Python {escape(ran_on['version'])} ({where})"
    if ran_on["warning"]:
        line += f" [yellow]({runtime} itself not found or not working)[/]"
    return line


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
