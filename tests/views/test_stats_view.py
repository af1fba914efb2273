"""`pipectl stats` on screen: money and prices as people read them, the sparkline and histogram
without colour, hints and notes, and the Logs Insights scanning cost."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from pipectl.stats import pricing
from pipectl.stats import summary as core
from pipectl.views import stats as stats_view


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0, "$0.00"),
        (0.0000845, "$0.0000845"),
        (0.0021, "$0.00210"),
        (0.37, "$0.370"),
        (12.345, "$12.35"),
        (1234.5, "$1,234.50"),
    ],
)
def test_usd(value, shown):
    assert stats_view.usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0000166667, "$0.0000166667"), (0.2, "$0.20"), (0.625, "$0.625"), (2.0, "$2.00")],
)
def test_unit_prices_are_shown_exactly(value, shown):
    assert stats_view.price(value) == shown


def test_sparkline_blank_for_none_lowest_block_for_any_top_for_the_peak():
    assert stats_view.sparkline([0, 1, 39, 20]) == "│ ▁█▅│"
    assert stats_view.sparkline([0, 0]) == "│  │"


def screen(result: core.Stats) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=120, no_color=True).print(stats_view.view(result, "1h"))
    return buffer.getvalue()


def stats_with(usage: core.Usage, **extra) -> core.Stats:
    prices, notes = pricing.prices_for("eu-west-1", "arm64")
    result = core.build(
        "fn", 0, 3_600_000, usage, 1024, 2, "fn-failures", prices, "logs-insights", notes
    )
    for name, value in extra.items():
        setattr(result, name, value)
    return result


def test_screen_of_an_insights_window_with_a_hint_and_notes():
    usage = core.Usage(
        invocations=10,
        request_ids=9,
        cold_starts=2,
        init_ms_total=500.0,
        init_ms_max=300.0,
        billed_mb_ms=10 * 200 * 1024.0,
        durations=core.Durations(150.0, 190.0, 199.0, 200.0),
        max_memory_used_mb=90,
        memory_size_mb=1024,
        histogram={7: 10},
        per_minute={60: 10},
    )
    text = screen(stats_with(usage, insights_bytes_scanned=2 * 1024**3))
    assert "from Logs Insights" in text
    assert "invocations    10  (1 retries, 2 cold starts)" in text
    assert "cold starts    2 (20%), init avg 250 ms, max 300 ms" in text
    assert "failed events  2 waiting in fn-failures" in text
    assert "hint: max memory used is only 9% of 1024 MB: function.memory_mb: 192" in text
    assert "128-256 ████████████████████████████████████████ 10" in text
    assert "$0.0000133334 per GB-s" in text  # arm64
    assert "Logs Insights scanned 2,147.5 MB ($0.0100)" in text
    assert "note: pipectl has no prices for eu-west-1" in text


def test_screen_of_an_empty_window_has_no_charts():
    text = screen(stats_with(core.Usage()))
    assert "invocations    0  (0 retries, 0 cold starts)" in text
    assert "duration (ms)" not in text and "throughput" not in text
    assert "total" in text and "$0.00" in text
