"""`app_for`: a run builds only the command it names, and nothing a user sees changes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipectl.cli import app, app_for, command_name

COMMANDS = [command_name(info) for info in app.registered_commands]


def test_a_run_naming_a_command_gets_an_app_holding_it_alone():
    lean = app_for(["up", "--json"])
    assert [command_name(info) for info in lean.registered_commands] == ["up"]
    assert lean.registered_groups == []
    assert len(app.registered_commands) == len(COMMANDS) > 1  # the app itself is untouched


@pytest.mark.parametrize(
    "args", [[], ["--help"], ["--version"], ["local", "status"], ["upp"], ["--json", "up"]]
)
def test_help_versions_groups_and_unknown_names_get_the_whole_app(args):
    assert app_for(args) is app


@pytest.mark.parametrize("name", COMMANDS)
def test_a_commands_help_and_usage_errors_read_the_same(name):
    runner = CliRunner()
    for args in ([name, "--help"], [name, "--no-such-flag"]):
        lean = runner.invoke(app_for(args), args)
        whole = runner.invoke(app, args)
        assert (lean.exit_code, lean.output) == (whole.exit_code, whole.output), args


def test_an_unknown_command_still_gets_suggestions():
    result = CliRunner().invoke(app_for(["stat"]), ["stat"])
    assert result.exit_code == 2
    assert "Did you mean 'stats', 'status'?" in result.output
