"""`pipectl status` for people: the pipeline drawn as a small diagram, each node coloured by its
state, above a table of every resource and its drift."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from pipectl.context import Context
from pipectl.pipeline import ResourceStatus
from pipectl.ui import UI

# (mark, colour, meaning) per state; the mark keeps the diagram readable without colour.
STATES = {
    "ok": ("✓", "green", "in sync"),
    "drift": ("~", "yellow", "drifted"),
    "missing": ("✗", "red", "missing"),
}


def state_of(row: ResourceStatus | None) -> str:
    if row is None or not row.exists:
        return "missing"
    return "drift" if row.drift else "ok"


class Piece:
    """A bit of the diagram: rich markup plus its width on screen (for aligning branches)."""

    def __init__(self, markup: str, width: int) -> None:
        self.markup = markup
        self.width = width

    @staticmethod
    def join(*pieces: Piece) -> Piece:
        return Piece("".join(p.markup for p in pieces), sum(p.width for p in pieces))


def text(plain: str, style: str = "") -> Piece:
    markup = escape(plain)
    return Piece(f"[{style}]{markup}[/]" if style else markup, len(plain))


def node(rows: dict[str, ResourceStatus], kind: str, label: str) -> Piece:
    mark, colour, _ = STATES[state_of(rows.get(kind))]
    return text(f"[{mark} {label}]", f"bold {colour}")


def edge(rows: dict[str, ResourceStatus], kind: str | None, label: str) -> Piece:
    """An arrow; when it is a resource of its own (the trigger), it carries that state's mark."""
    if kind is None:
        return text(f" ──{label}──▶ ", "dim")
    mark, colour, _ = STATES[state_of(rows.get(kind))]
    return text(f" ──{mark} {label}──▶ ", colour)


def diagram(rows: Sequence[ResourceStatus]) -> str:
    """bucket ──trigger──▶ function ──put──▶ table, and under the function what it needs: its
    log group, role, S3's permission to invoke it (and the on-failure queue when configured)."""
    by_kind = {r.resource: r for r in rows if r.configured}  # a leftover is not wired in
    head = Piece.join(node(by_kind, "bucket", "S3 bucket"), edge(by_kind, "trigger", "trigger"))
    top = Piece.join(
        head,
        node(by_kind, "function", "Lambda"),
        edge(by_kind, None, "put"),
        node(by_kind, "table", "DynamoDB"),
    )
    branches = [
        ("logs", "log_group", "CloudWatch Logs"),
        ("role", "role", "IAM role"),
        ("invoke", "permission", "S3 may invoke"),
    ]
    if "queue" in by_kind:
        branches.append(("failures", "queue", "SQS queue"))
    indent = " " * (head.width + 1)
    lines = [top.markup]
    for index, (label, kind, title) in enumerate(branches):
        fork = "└─" if index == len(branches) - 1 else "├─"
        count = waiting(by_kind.get(kind))
        lines.append(
            f"{indent}[dim]{fork} {label:<8}[/] {node(by_kind, kind, title).markup}{count}"
        )
    legend = "   ".join(f"{mark} {meaning}" for mark, _, meaning in STATES.values())
    lines.append(f"[dim]{legend}[/]")
    return "\n".join(lines)


def waiting(row: ResourceStatus | None) -> str:
    """` 3 failed events waiting` after the queue's node (nothing for other nodes)."""
    if row is None or row.failed_events is None:
        return ""
    colour = "yellow" if row.failed_events else "dim"
    return f" [{colour}]{events(row.failed_events)} waiting[/]"


def events(count: int) -> str:
    return f"{count} failed event{'' if count == 1 else 's'}"


def render(ui: UI, ctx: Context, rows: Sequence[ResourceStatus], in_sync: bool) -> None:
    ui.info(
        f"[bold]pipectl status[/] {ctx.spec.pipeline} in {ctx.region} (account {ctx.account_id})\n"
    )
    ui.info(diagram(rows) + "\n")
    table = Table(show_edge=False, pad_edge=False)
    columns = ["resource", "name", "exists", "managed", "drift"]
    with_queue = any(row.resource == "queue" for row in rows)
    if with_queue:
        columns.append("failed events")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        exists = "[green]yes[/]" if row.exists else "[red]no[/]"
        managed = "pipectl" if row.managed else ("adopted" if row.exists else "")
        if not row.configured:
            drift = "[dim]not configured (left over)[/]"
        elif row.drift:
            colour = "yellow" if row.exists else "red"
            drift = f"[{colour}]" + escape("; ".join(row.drift)) + "[/]"
        else:
            drift = "[green]in sync[/]"
        cells = [row.resource, escape(row.name), exists, managed, drift]
        if with_queue:
            cells.append("" if row.failed_events is None else str(row.failed_events))
        table.add_row(*cells)
    ui.show(table)
    render_waiting(ui, rows)
    if in_sync:
        ui.info("\n[green]in sync with the config[/]")
        return
    missing = sum(1 for r in rows if not r.exists)
    drifted = sum(1 for r in rows if r.exists and r.drift)
    counts = ", ".join(
        f"{n} {word}" for n, word in ((missing, "missing"), (drifted, "drifted")) if n
    )
    ui.info(f"\n[yellow]{counts}[/]: run `pipectl up` to converge")


def render_waiting(ui: UI, rows: Sequence[ResourceStatus]) -> None:
    """Failed events are not drift (the exit code ignores them) but need the user."""
    count = sum(row.failed_events or 0 for row in rows)
    if count:
        ui.info(
            f"\n[yellow]{events(count)} waiting in the on-failure queue[/]: list them with "
            "`pipectl replay --dry-run`, process them again with `pipectl replay`"
        )
