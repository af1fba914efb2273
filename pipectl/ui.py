"""Rendering: rich progress lines and tables on stderr for people, one JSON document on stdout
for scripts (`--json`). Only this module and cli.py import rich, and only when something is
printed (or `UI.get_ready` is called while the run waits for AWS)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterable
from typing import Any

from pipectl.aws import redact
from pipectl.errors import PipectlError
from pipectl.plan import Action, Change

DONE_WORDS = {
    Action.CREATE: ("created", "green"),
    Action.UPDATE: ("updated", "yellow"),
    Action.UNCHANGED: ("unchanged", "dim"),
    Action.DELETE: ("deleted", "red"),
    Action.KEEP: ("kept", "cyan"),
    Action.SKIPPED: ("skipped", "magenta"),
    Action.FAILED: ("failed", "bold red"),
}
PLAN_WORDS = {
    Action.CREATE: ("will create", "green"),
    Action.UPDATE: ("will update", "yellow"),
    Action.UNCHANGED: ("unchanged", "dim"),
    Action.DELETE: ("will delete", "red"),
    Action.KEEP: ("will keep", "cyan"),
}


RICH_MODULES = ("rich.console", "rich.markup", "rich.table")


def escape(text: str) -> str:
    """Text shown as is inside rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def width(stream: Any) -> int | None:
    """The terminal's width; 120 columns when captured (CI logs), where rich would assume 80 and
    fold every ARN in the tables."""
    return None if stream.isatty() else 120


class UI:
    """One per command run. Messages go to stderr, documents to stdout."""

    def __init__(self, json_mode: bool = False, verbose: bool = False) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        self._lock = threading.Lock()
        self._consoles: dict[str, Any] = {}

    @property
    def err(self) -> Any:
        """rich's Console on stderr, made (and rich imported) when first needed."""
        return self._console("err", sys.stderr)

    @property
    def out(self) -> Any:
        return self._console("out", sys.stdout)

    def _console(self, name: str, stream: Any) -> Any:
        if name not in self._consoles:
            from rich.console import Console

            self._consoles.setdefault(
                name, Console(file=stream, highlight=False, soft_wrap=True, width=width(stream))
            )
        return self._consoles[name]

    def get_ready(self) -> None:
        """Import rich (~50-100 ms of CPU) and make the stderr console now. Commands call this
        once their AWS requests are in flight, where it costs no time: done before, it would
        delay those requests (under the GIL it competes with making the clients); done after,
        it would delay the first line. A --json run prints nothing there unless something goes
        wrong, so it skips this."""
        if self.json_mode:
            return
        import importlib

        for name in RICH_MODULES:
            importlib.import_module(name)
        self.err  # noqa: B018 (makes the console)

    # messages -------------------------------------------------------------------------------
    def info(self, text: str) -> None:
        with self._lock:
            self.err.print(text)

    def warn(self, text: str) -> None:
        self.info(f"[yellow]warning:[/] {escape(text)}")

    def error(self, exc: PipectlError) -> None:
        self.info(f"[bold red]error:[/] {escape(redact(exc.message))}")
        if exc.hint:
            self.info(f"  [dim]fix:[/] {escape(redact(exc.hint))}")

    def show(self, renderable: Any) -> None:
        """Print a rich renderable (a table) on stderr."""
        with self._lock:
            self.err.print(renderable)

    def aws_call(self, line: str) -> None:
        if self.verbose:
            self.info(f"[dim]  aws {escape(redact(line))}[/]")

    def document(self, data: Any) -> None:
        """The one JSON document of a --json run."""
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        sys.stdout.flush()

    # progress of a graph run ----------------------------------------------------------------
    def step(self, name: str, event: str, change: Change | None) -> None:
        if self.json_mode or event != "done" or change is None:
            return
        word, colour = DONE_WORDS.get(change.action, (change.action.value, "white"))
        took = f"{change.duration_s:5.2f}s" if change.duration_s is not None else ""
        detail = f"  [dim]{escape(change.detail)}[/]" if change.detail else ""
        self.info(
            f"  [{colour}]{word:>9}[/]  {name:<10} {escape(change.name)}  [dim]{took}[/]{detail}"
        )

    def changes_table(self, title: str, changes: Iterable[Change], planned: bool = False) -> None:
        from rich.table import Table

        words = PLAN_WORDS if planned else DONE_WORDS
        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        for column in ("resource", "name", "action", "detail"):
            table.add_column(column, overflow="fold")
        if not planned:
            table.add_column("time", justify="right")
        for change in changes:
            word, colour = words.get(change.action, (change.action.value, "white"))
            row = [
                change.resource,
                escape(change.name),
                f"[{colour}]{word}[/]",
                escape(change.detail),
            ]
            if not planned:
                row.append(f"{change.duration_s:.2f}s" if change.duration_s is not None else "")
            table.add_row(*row)
        self.show(table)

    def planned_calls(self, changes: Iterable[Change]) -> None:
        """Under a plan (with -v): the AWS API operations each step would call, in order."""
        lines = [f"  {c.resource:<10} {', '.join(c.calls)}" for c in changes if c.calls]
        if lines:
            self.info("[bold]API calls the plan would make[/] (reads and waits not shown)")
            self.info(escape("\n".join(lines)))


def changes_document(ok: bool, changes: Iterable[Change], **extra: Any) -> dict[str, Any]:
    """A dry run also lists the API operations each change would call."""
    planned = bool(extra.get("dry_run"))
    return {"ok": ok, "changes": [c.as_json(with_calls=planned) for c in changes], **extra}
