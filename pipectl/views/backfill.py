"""Rendering for `pipectl backfill`: a live progress line on stderr (only on a terminal), then
a summary; the JSON document is built by the core (`Result.as_json`)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipectl.backfill.run import Options, Result, Tally, Target
from pipectl.ui import UI

SHOWN_KEYS = 20


def header(ui: UI, target: Target, options: Options, run_id: str) -> None:
    prefix = options.selection.listing_prefix() or ""
    which = "every object" if options.everything else "objects with no item"
    ui.info(
        f"[bold]pipectl backfill[/] s3://{escape(target.source.bucket)}/{escape(prefix)} → "
        f"function {escape(target.function)} ({which} in {escape(target.table.name)}), "
        f"run {run_id}"
    )


def prompt(target: Target, options: Options) -> str:
    which = "every object" if options.everything else "every object with no item"
    prefix = options.selection.listing_prefix() or ""
    return (
        f"Send {which} under s3://{target.source.bucket}/{prefix} to function "
        f"{target.function}? It runs on Lambda and is billed there"
    )


class LiveProgress:
    """Objects listed, dispatched, skipped, failed and the rate, refreshed in place. Nothing is
    drawn when stderr is not a terminal (CI logs, captured output): the summary says it all."""

    def __init__(self, ui: UI) -> None:
        self.progress: Progress | None = None
        if ui.err.is_terminal:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=ui.err,
                transient=True,
            )
        self.task: Any = None

    def __enter__(self) -> LiveProgress:
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task("listing", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, tally: Tally) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=counts_line(tally))


def counts_line(tally: Tally) -> str:
    return (
        f"listed {tally.objects:,}  dispatched {tally.dispatched:,}  skipped {tally.skipped:,}  "
        f"failed {tally.failed:,}  {tally.rate():,.0f} objects/s"
    )


def summary(ui: UI, result: Result, everything: bool) -> None:
    t = result.tally
    if result.dry_run:
        ui.info(
            f"[bold]dry run[/]: would send {len(t.would_send):,} of {t.objects:,} matching "
            f"objects ({t.skipped:,} already have an item); nothing was invoked"
        )
        show_keys(ui, t.would_send, "would send")
        return
    colour = "green" if result.ok else "yellow"
    ui.info(
        f"[{colour}]backfill {result.run_id}[/]: {t.objects:,} matching objects listed, "
        f"{t.dispatched:,} dispatched in {plural(t.invocations, 'invocation')}, "
        f"{t.skipped:,} skipped (already had an item), {t.failed:,} failed  "
        f"[dim]({t.rate():,.0f} objects/s)[/]"
    )
    if t.failed_keys:
        ui.info("[bold red]not accepted by Lambda after retries[/] (the objects stay in S3):")
        show_keys(ui, t.failed_keys, "failed")
    if result.interrupted or result.stopped_by is not None:
        ui.info(resume_note(result, everything))
    elif t.dispatched:
        ui.info(
            "[dim]Lambda runs them in the background: `pipectl results` shows the items, "
            "`pipectl logs` the function's log[/]"
        )
    elif t.failed_keys:
        ui.info("[dim]run `pipectl backfill` again to retry them[/]")


def resume_note(result: Result, everything: bool) -> str:
    what = "interrupted" if result.interrupted else "stopped"
    again = (
        "run `pipectl backfill` again without --all to send only what has no item yet"
        if everything
        else "run `pipectl backfill` again: it sends only what has no item yet, so it continues "
        "where this run stopped"
    )
    return f"[yellow]{what}[/] after {result.tally.dispatched:,} dispatched: {again}"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def show_keys(ui: UI, keys: list[str], verb: str) -> None:
    for key in keys[:SHOWN_KEYS]:
        ui.info(f"  {escape(key)}")
    if len(keys) > SHOWN_KEYS:
        ui.info(f"  [dim]... and {len(keys) - SHOWN_KEYS:,} more {verb} (--json lists them all)[/]")
