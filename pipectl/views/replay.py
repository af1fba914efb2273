"""`pipectl replay` for people: one line per failed event as it is listed or replayed (its
object keys, the error that made Lambda give up, attempts and when), then what is left."""

from __future__ import annotations

from rich.markup import escape

from pipectl.replay.queue import Event, Outcome, ReplayResult
from pipectl.ui import UI

MARKS = {
    Outcome.LISTED: ("·", "cyan", "failed"),
    Outcome.REPLAYED: ("✓", "green", "replayed"),
    Outcome.FAILED: ("✗", "bold red", "failed again"),
    Outcome.FOREIGN: ("?", "yellow", "not a record"),
}
ERROR_WIDTH = 160


def event_line(ui: UI, event: Event) -> None:
    mark, colour, word = MARKS[event.outcome]
    if event.record is None:
        ui.info(
            f"  [{colour}]{mark} {word:<13}[/] message {escape(event.message_id)}: "
            f"{escape(event.problem or '')} [dim](left in the queue)[/]"
        )
        return
    record = event.record
    keys = ", ".join(record.keys) or "(no S3 object key in the event)"
    ui.info(f"  [{colour}]{mark} {word:<13}[/] [bold]{escape(keys)}[/]")
    facts = [record.condition]
    if record.attempts is not None:
        facts.append(f"{record.attempts} attempt{'' if record.attempts == 1 else 's'}")
    if record.failed_at:
        facts.append(record.failed_at)
    ui.info(f"      [dim]was:[/] {escape(short(record.error))}  [dim]{escape(', '.join(facts))}[/]")
    if event.replay_error:
        ui.info(f"      [red]now:[/] {escape(short(event.replay_error))}")


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 3] + "..."


def header(ui: UI, queue: str, dry_run: bool) -> None:
    note = " [dim](dry run: listing only)[/]" if dry_run else ""
    ui.info(f"[bold]pipectl replay[/] the failed events in {escape(queue)}{note}")


def summary(ui: UI, result: ReplayResult) -> None:
    if not result.events:
        ui.info(f"no failed events: {escape(result.queue)} is empty")
        return
    counts = {outcome: result.count(outcome) for outcome in Outcome}
    parts = [f"{n} {MARKS[outcome][2]}" for outcome, n in counts.items() if n]
    ui.info("\n" + ", ".join(parts) + f"; {result.remaining} left in the queue")
    if result.not_released:
        ui.warn(
            f"{result.not_released} message(s) could not be made visible again at once; "
            "they will be when their visibility timeout ends"
        )
    if result.dry_run:
        ui.info("[dim]dry run: nothing was replayed, every message is visible again[/]")
    elif counts[Outcome.FAILED]:
        ui.info(
            "[yellow]the events that failed again are still in the queue[/]: fix the handler, "
            "`pipectl up`, then `pipectl replay` again (`pipectl logs` shows the errors)"
        )
    elif counts[Outcome.REPLAYED]:
        ui.info("[green]every failed event was processed again[/]")
