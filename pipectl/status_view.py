"""`pipectl status` for people: the pipeline drawn as a small diagram, each node coloured by its
state, above a table of every resource and its drift."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from pipectl.pipeline import ResourceStatus
from pipectl.plan import Context
from pipectl.ui import UI


def colour(row: ResourceStatus | None) -> str:
    if row is None or not row.exists:
        return "red"
    return "yellow" if row.drift else "green"


def node(rows: dict[str, ResourceStatus], kind: str, label: str) -> str:
    row = rows.get(kind)
    mark = "✗" if row is None or not row.exists else ("~" if row.drift else "✓")
    return f"[{colour(row)}][{mark} {label}][/]"


def arrow(rows: dict[str, ResourceStatus], kind: str, label: str) -> str:
    return f"[{colour(rows.get(kind))}]──{label}──▶[/]"


def diagram(rows: Sequence[ResourceStatus]) -> str:
    """bucket ──trigger──▶ function ──▶ table, with the log group (and role) under the function."""
    by_kind = {r.resource: r for r in rows}
    top = " ".join(
        [
            node(by_kind, "bucket", "S3 bucket"),
            arrow(by_kind, "trigger", "event"),
            node(by_kind, "function", "Lambda"),
            arrow(by_kind, "table", "put"),
            node(by_kind, "table", "DynamoDB"),
        ]
    )
    indent = " " * 25
    under = [
        f"{indent}│ logs   {node(by_kind, 'log_group', 'CloudWatch Logs')}",
        f"{indent}│ role   {node(by_kind, 'role', 'IAM role')}",
        f"{indent}│ invoke {node(by_kind, 'permission', 'S3 permission')}",
    ]
    if "queue" in by_kind:
        under.append(f"{indent}│ failed {node(by_kind, 'queue', 'SQS queue')}")
    return "\n".join([top, *under])


def render(ui: UI, ctx: Context, rows: Sequence[ResourceStatus], in_sync: bool) -> None:
    ui.info(
        f"[bold]pipectl status[/] {ctx.spec.pipeline} in {ctx.region} (account {ctx.account_id})\n"
    )
    ui.info(diagram(rows) + "\n")
    table = Table(show_edge=False, pad_edge=False)
    for column in ("resource", "name", "exists", "managed", "drift"):
        table.add_column(column, overflow="fold")
    for row in rows:
        exists = "[green]yes[/]" if row.exists else "[red]no[/]"
        managed = "pipectl" if row.managed else ("adopted" if row.exists else "")
        drift = (
            "[yellow]" + escape("; ".join(row.drift)) + "[/]" if row.drift else "[green]in sync[/]"
        )
        table.add_row(row.resource, escape(row.name), exists, managed, drift)
    ui.show(table)
    verdict = (
        "[green]in sync with the config[/]"
        if in_sync
        else "[yellow]missing or drifted: run `pipectl up` to converge[/]"
    )
    ui.info("\n" + verdict)
