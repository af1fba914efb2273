"""The UI's preparation while a run waits for AWS."""

from __future__ import annotations

from pipectl.ui import UI


def test_get_ready_makes_the_stderr_console():
    ui = UI()
    ui.get_ready()
    assert "err" in ui._consoles


def test_a_json_run_gets_no_console_ready():
    """A --json run prints nothing on stderr unless something goes wrong."""
    ui = UI(json_mode=True)
    ui.get_ready()
    assert ui._consoles == {}
