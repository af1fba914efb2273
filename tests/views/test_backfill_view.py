"""`pipectl backfill`'s live progress: drawn on a terminal (listed, dispatched, skipped,
failed, rate), nothing at all when stderr is captured."""

from __future__ import annotations

import io

from rich.console import Console

from pipectl.backfill.run import Tally
from pipectl.ui import UI
from pipectl.views.backfill import LiveProgress, counts_line


def ui_on(console: Console) -> UI:
    ui = UI()
    ui._consoles["err"] = console  # the console `ui.err` would make, made here on a buffer
    return ui


def tally(**counts: int) -> Tally:
    made = Tally(objects=counts["objects"], skipped=counts["skipped"])
    made.dispatched = counts["dispatched"]
    made.failed_keys = [f"key-{n}" for n in range(counts["failed"])]
    made.started -= 2.0  # two seconds into the run
    return made


def test_on_a_terminal_the_counts_and_rate_are_drawn():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    counts = tally(objects=2500, skipped=500, dispatched=1500, failed=3)
    with LiveProgress(ui_on(console)) as progress:
        progress.update(counts)
        assert progress.progress is not None
        progress.progress.refresh()
    drawn = buffer.getvalue()
    assert "listed 2,500  dispatched 1,500  skipped 500  failed 3" in drawn
    assert "objects/s" in drawn


def test_the_rate_counts_what_was_dispatched_or_skipped_per_second():
    counts = tally(objects=10, skipped=4, dispatched=6, failed=0)
    shown = float(counts_line(counts).split()[-2].replace(",", ""))
    assert 4.0 <= shown <= 5.0  # 10 handled in a little over 2 s


def test_when_stderr_is_captured_nothing_is_drawn():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    with LiveProgress(ui_on(console)) as progress:
        progress.update(tally(objects=5, skipped=0, dispatched=5, failed=0))
    assert progress.progress is None
    assert buffer.getvalue() == ""
