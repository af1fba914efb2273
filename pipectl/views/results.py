"""Rendering for `pipectl results`: a table of items on stdout, and on stderr what order it is
in."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from pipectl.results import Results
from pipectl.ui import UI


def render(ui: UI, results: Results, table_name: str, partition_key: str, limit: int) -> None:
    if not results.items:
        ui.info(f"no items in {escape(table_name)}" + (" yet" if not results.more else ""))
        return
    table = Table(
        title=f"{table_name}: {len(results.items)} items", title_justify="left", show_edge=False
    )
    for column in ("key", "status", "size", "event time", "processed at"):
        table.add_column(column, overflow="fold", justify="right" if column == "size" else "left")
    for item in results.items:
        table.add_row(
            escape(str(item.get(partition_key, ""))),
            escape(str(item.get("status", ""))),
            human_size(item.get("size")),
            escape(str(item.get("event_time", ""))),
            escape(str(item.get("processed_at", ""))),
        )
    ui.out.print(table)  # the data itself, on stdout (so it pipes); remarks go to stderr
    note = "newest first among the items read; a scan meets items in no time order"
    if results.more:
        note += f", and the table holds more than these {limit} (raise --limit to see more)"
    ui.info(f"[dim]{note}[/]")


def human_size(size: Any) -> str:
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""
