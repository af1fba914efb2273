"""`pipectl stats` for people: the figures, a duration histogram and a per-minute throughput
sparkline, then the cost estimate with the unit prices it used. Bars and sparklines are block
characters, so the charts read the same without colour. `watch` redraws it in place."""

from __future__ import annotations

import math
from collections.abc import Callable

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipectl.stats import summary as core
from pipectl.ui import UI

SPARKS = "▁▂▃▄▅▆▇█"
BAR = "█"
BAR_WIDTH = 40
SPARK_COLUMNS = 60
SOURCES = {"logs-insights": "Logs Insights", "log-events": "the log events"}


def render(ui: UI, result: core.Stats, window: str) -> None:
    ui.show(view(result, window))


def view(result: core.Stats, window: str) -> Group:
    """The whole screen for one window, as one renderable (printed once, or redrawn by Live)."""
    parts: list = [Text.from_markup(header(result, window)), figures(result)]
    usage = result.usage
    if usage.invocations:
        parts += [Text("duration (ms)", style="bold"), histogram(usage.histogram)]
        parts += [Text.from_markup(throughput(result))]
    parts.append(cost_table(result))
    parts += [Text.from_markup(f"[yellow]note:[/] {escape(note)}") for note in result.notes]
    return Group(*parts)


def header(result: core.Stats, window: str) -> str:
    source = SOURCES.get(result.source, result.source)
    return (
        f"[bold]pipectl stats[/] {escape(result.function)}, last {escape(window)} "
        f"({core.iso(result.since_ms)} to {core.iso(result.until_ms)}, from {source})"
    )


def figures(result: core.Stats) -> Table:
    usage = result.usage
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    share = f" ({usage.errors / usage.invocations:.1%})" if usage.invocations else ""
    table.add_row(
        "invocations",
        f"{usage.invocations}  ({usage.retries} retries, {usage.cold_starts} cold starts)",
    )
    table.add_row("errors", f"{usage.errors}{share}")
    records = usage.records
    table.add_row(
        "records",
        f"{records['processed']} processed · {records['skipped']} skipped · "
        f"{records['failed']} failed",
    )
    table.add_row("failed events", failed_events_line(result))
    d = usage.durations
    table.add_row(
        "duration",
        f"p50 {ms(d.p50)} · p95 {ms(d.p95)} · p99 {ms(d.p99)} · max {ms(d.max)}",
    )
    if usage.cold_starts:
        table.add_row(
            "cold starts",
            f"{usage.cold_starts} ({usage.cold_starts / usage.invocations:.0%}), init avg "
            f"{ms(usage.init_ms_avg)}, max {ms(usage.init_ms_max)}",
        )
    used, size = usage.max_memory_used_mb, result.memory_size_mb
    table.add_row("memory", f"max {used} MB used of {size} MB" if used else f"{size} MB")
    hint = core.memory_hint(used, size)
    if hint:
        table.add_row("", f"[yellow]hint:[/] {escape(hint)}")
    return table


def failed_events_line(result: core.Stats) -> str:
    name = escape(result.queue_name)
    if result.failed_events is None:
        return f"no on-failure queue ({name} does not exist)"
    return f"{result.failed_events} waiting in {name}"


def ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.2f} ms"


def histogram(buckets: dict[int, int]) -> Table:
    """One bar per power-of-two bucket from the fastest to the slowest seen, empty ones too."""
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right")
    table.add_column()
    table.add_column(justify="right")
    if not buckets:
        return table
    peak = max(buckets.values())
    for k in range(min(buckets), max(buckets) + 1):
        count = buckets.get(k, 0)
        low = 2**k if k else 0
        bar = BAR * max(1 if count else 0, round(count / peak * BAR_WIDTH))
        table.add_row(f"{low:,}-{2 ** (k + 1):,}", bar, str(count))
    return table


def throughput(result: core.Stats) -> str:
    """Invocations per minute over the window, as a sparkline of at most SPARK_COLUMNS."""
    first = result.since_ms // 60_000 * 60
    minutes = (result.until_ms // 60_000 * 60 - first) // 60 + 1
    per_column = -(-minutes // SPARK_COLUMNS)  # minutes per column, rounded up
    counts = [0] * -(-minutes // per_column)
    for minute, count in result.usage.per_minute.items():
        column = (minute - first) // 60 // per_column
        if 0 <= column < len(counts):
            counts[column] += count
    line = sparkline(counts)
    unit = "minute" if per_column == 1 else f"{per_column} minutes"
    return f"[bold]throughput[/] per {unit}  {line}  peak {max(counts)}"


def sparkline(counts: list[int]) -> str:
    """`│ ▁▃█ │`: a blank for none, at least the lowest block for any, the highest for the peak."""
    peak = max(counts, default=0)
    levels = len(SPARKS)
    marks = (SPARKS[math.ceil(c / peak * levels) - 1] if c else " " for c in counts)
    return "│" + "".join(marks) + "│"


def cost_table(result: core.Stats) -> Table:
    cost, prices = result.cost, result.prices
    table = Table(
        title="cost estimate (USD, list prices, free tier not subtracted)",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        box=None,
    )
    for column in ("item", "usage", "unit price", "cost"):
        table.add_column(column, justify="right" if column == "cost" else "left")
    table.add_row(
        "Lambda duration",
        f"{cost.gb_seconds:,.4f} GB-s billed",
        f"{price(prices.lambda_gb_second)} per GB-s",
        usd(cost.gb_seconds * prices.lambda_gb_second),
    )
    table.add_row(
        "Lambda requests",
        f"{cost.requests:,} requests",
        f"{price(prices.lambda_requests_per_million)} per 1M",
        usd(cost.requests * prices.lambda_requests_per_million / 1e6),
    )
    table.add_row(
        "DynamoDB writes",
        f"{cost.write_units:,} WRU (est.: 1 per write ≤ 1 KB)",
        f"{price(prices.dynamodb_write_units_per_million)} per 1M",
        usd(cost.dynamodb_usd),
    )
    table.add_row("S3 requests, storage", "not counted", "", "")
    table.add_row("[bold]total[/]", "", "", f"[bold]{usd(cost.total_usd)}[/]")
    table.caption = (
        f"per 1,000 files {usd(result.cost_per_1000_files)} · per month at this rate "
        f"{usd(result.cost_per_month)} · prices: {escape(prices.source)}" + insights_line(result)
    )
    table.caption_justify = "left"
    return table


def insights_line(result: core.Stats) -> str:
    scanned = result.insights_bytes_scanned
    if scanned is None:
        return ""
    from pipectl.stats.pricing import insights_cost

    return (
        f" · this read: Logs Insights scanned {scanned / 1e6:,.1f} MB "
        f"({usd(insights_cost(scanned, result.prices))})"
    )


def usd(value: float) -> str:
    """Dollars with three significant digits below a dollar: a few invocations cost millionths
    ($0.0000108), and scientific notation is no way to show money."""
    if value >= 1 or value <= 0:
        return f"${value:,.2f}"
    decimals = 2 - math.floor(math.log10(value))
    return f"${value:.{max(2, decimals)}f}"


def price(value: float) -> str:
    """A unit price exactly as used (at least cents): $0.0000166667, $0.20, $0.625."""
    text = f"{value:.12f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


# --watch ------------------------------------------------------------------------------------


def watch(
    ui: UI,
    refresh: Callable[[], core.Stats],
    window: str,
    sleep: Callable[[float], None],
    interval_s: float,
    max_refreshes: int | None = None,
) -> int:
    """Redraw in place every `interval_s` until Ctrl-C (KeyboardInterrupt propagates) or
    `max_refreshes`; how many times it drew."""
    drawn = 0
    footer = Text(f"refreshing every {interval_s:g} s; Ctrl-C to stop", style="dim")
    with Live(console=ui.err, auto_refresh=False, transient=False) as live:
        while True:
            live.update(Group(view(refresh(), window), footer), refresh=True)
            drawn += 1
            if max_refreshes is not None and drawn >= max_refreshes:
                return drawn
            sleep(interval_s)
