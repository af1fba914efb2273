"""Rendering for `pipectl verify` and `pipectl logs`: check lines, the probe's timeline, and log
events (human lines on stdout for `logs`, JSON Lines with --json)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from rich.markup import escape
from rich.text import Text

from pipectl.context import Context
from pipectl.logs import LogEvent, handler_fields, is_error, is_runtime_frame, short_stream
from pipectl.ui import UI
from pipectl.verify import Check, VerifyResult

HIDDEN_FIELDS = {"level", "message"}


# verify --------------------------------------------------------------------------------------


def check_line(ui: UI, check: Check) -> None:
    """One line per check as it finishes; a failed one with its fix."""
    mark = "[green]✓[/]" if check.ok else "[bold red]✗[/]"
    ui.info(f"  {mark} {check.name:<10}  {escape(check.detail)}")
    if not check.ok and check.hint:
        ui.info(f"      [dim]fix:[/] {escape(check.hint)}")


def verify_header(ui: UI, ctx: Context, timeout_s: float) -> None:
    ui.info(
        f"[bold]pipectl verify[/] {ctx.spec.pipeline} in {ctx.region} (account {ctx.account_id}), "
        f"timeout {timeout_s:g} s"
    )


def render_verify(ui: UI, result: VerifyResult) -> None:
    """After the live check lines: the timeline, the invocation's log lines, the verdict."""
    if result.uploaded:
        ui.info("\n[bold]timeline[/]  " + timeline(result))
    if result.log_events:
        title = "log lines" if result.ok else "evidence (log lines)"
        ui.info(f"\n[bold]{title}[/]")
        for event in result.log_events:
            ui.show(as_text("  " + event_markup(event)))
    if result.item is not None and not result.ok:
        ui.info("\n[bold]item[/]  " + escape(json.dumps(result.item, ensure_ascii=False)))
    for note in result.cleanup:
        ui.info(f"[dim]{escape(note)}[/]")
    for warning in result.warnings:
        ui.warn(warning)
    cause = result.cause
    if result.ok:
        ui.info(
            f"\n[bold green]verify passed[/]: S3 -> Lambda -> DynamoDB in {result.item_ms} ms, "
            f"logs in {result.logs_ms} ms"
        )
    elif cause is not None:
        ui.info(f"\n[bold red]verify failed[/] at [bold]{cause.name}[/]: {escape(cause.detail)}")
        if cause.hint:
            ui.info(f"  [dim]fix:[/] {escape(cause.hint)}")
        others = [c.name for c in result.checks if not c.ok and c is not cause]
        if others:
            ui.info(f"  [dim]also failing, possibly because of it: {', '.join(others)}[/]")
        if not result.uploaded and cause.name != "upload":
            ui.info("[dim]nothing was uploaded: fix the failed check(s) first[/]")


def timeline(result: VerifyResult) -> str:
    steps = ["uploaded"]
    steps.append(
        f"item seen [green]+{result.item_ms} ms[/]"
        if result.item_ms is not None
        else "[red]item not seen[/]"
    )
    if result.item_ms is not None:
        steps.append(
            f"logs seen [green]+{result.logs_ms} ms[/]"
            if result.logs_ms is not None
            else "[red]logs not seen[/]"
        )
    return " ──▶ ".join(steps)


# logs ----------------------------------------------------------------------------------------


def event_printer(ui: UI, json_lines: bool) -> Callable[[LogEvent], None]:
    """Where `pipectl logs` sends each event: stdout, so it pipes like any log."""
    if json_lines:

        def write_json(event: LogEvent) -> None:
            sys.stdout.write(json.dumps(event.as_json()) + "\n")
            sys.stdout.flush()

        return write_json

    def write_line(event: LogEvent) -> None:
        ui.out.print(as_text(event_markup(event)))
        ui.out.file.flush()

    return write_line


def as_text(markup: str) -> Text:
    """Log lines are data: no `:name:` emoji codes replaced in them (escape() only covers [])."""
    return Text.from_markup(markup, emoji=False)


def event_markup(event: LogEvent) -> str:
    """`HH:MM:SS.mmm stream message` (UTC): runtime lines dim, errors red, JSON lines readable."""
    when = datetime.fromtimestamp(event.timestamp / 1000, timezone.utc)
    stamp = when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"
    prefix = f"[dim]{stamp} {escape(short_stream(event.stream)):<8}[/]"
    text = escape(readable(event.message))
    if is_error(event.message):
        return f"{prefix} [bold red]{text}[/]"
    if is_runtime_frame(event.message):
        return f"{prefix} [dim]{text}[/]"
    level = str((handler_fields(event.message) or {}).get("level", "")).upper()
    if level == "WARNING":
        return f"{prefix} [yellow]{text}[/]"
    return f"{prefix} {text}"


def readable(message: str) -> str:
    """The handler's JSON line as `LEVEL message key=value ...`; any other line unchanged."""
    fields = handler_fields(message)
    if fields is None or "message" not in fields:
        return message.replace("\t", "  ")
    head = f"{str(fields.get('level', '')).upper()} {fields['message']}".strip()
    rest = [f"{name}={show(value)}" for name, value in fields.items() if name not in HIDDEN_FIELDS]
    return "  ".join([head, " ".join(rest)]) if rest else head


def show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if (" " in value or not value) else value
    return json.dumps(value, ensure_ascii=False, default=str)
