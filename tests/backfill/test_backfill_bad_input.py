"""Bad flags of `backfill` and `results`: exit 2 with a message naming the flag and the fix, no
traceback, and no AWS call (not even the emulator's start: the endpoint is unreachable)."""

from __future__ import annotations

import pytest

NOWHERE = ["--endpoint-url", "http://127.0.0.1:1"]
CASES = {
    "batch size 0": (["backfill", "--yes", "--batch-size", "0"], "--batch-size"),
    "batch size 1001": (["backfill", "--yes", "--batch-size", "1001"], "--batch-size"),
    "batch size not a number": (["backfill", "--yes", "--batch-size", "many"], "--batch-size"),
    "concurrency 0": (["backfill", "--yes", "--concurrency", "0"], "--concurrency"),
    "concurrency 21": (["backfill", "--yes", "--concurrency", "21"], "--concurrency"),
    "malformed since": (["backfill", "--yes", "--since", "yesterday"], "--since"),
    "no tty and no yes": (["backfill"], "--yes"),
    "local with endpoint": (["backfill", "--yes", "--local"], "--local"),
    "limit 0": (["results", "--limit", "0"], "--limit"),
    "limit negative": (["results", "--limit", "-5"], "--limit"),
    "limit not a number": (["results", "--limit", "all"], "--limit"),
}


@pytest.mark.parametrize(("args", "needle"), CASES.values(), ids=CASES.keys())
def test_bad_flags_exit_2_before_any_aws_call(cli, runtime, args, needle):
    result = cli(*args, *NOWHERE)
    output = result.stderr
    assert result.exit_code == 2, output
    assert "Traceback" not in output and needle in output
    assert runtime.last_aws is None  # no client was even made
    if "Usage:" not in output:  # pipectl's own message (click's for a non-number)
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 2 and "fix:" in lines[1], output


def test_dry_run_needs_no_yes_without_a_terminal(cli, runtime):
    result = cli("backfill", "--dry-run", *NOWHERE)
    assert result.exit_code == 1  # got past the checks: the endpoint cannot be reached
    assert "cannot reach" in result.stderr
