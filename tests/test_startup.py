"""`pipectl --help` and `--version` must not import the AWS SDK or the emulator, and no command
imports pydantic (Typer's option conversion and the config schema go without it): correctness
tests of the lazy imports (start-up time itself is measured in benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("boto3", "botocore", "s3transfer", "moto", "pydantic")

# Runs the real console entry point in a fresh interpreter, then reports what got imported.
PROBE = """
import json, sys
args, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["pipectl", *args]
from pipectl.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({name.split(".")[0] for name in sys.modules} & watched)
import gc
report = {"code": code, "heavy": heavy, "gc_enabled": gc.isenabled()}
sys.stderr.write(json.dumps(report) + "\\n")
"""


def imported_after(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr.strip(), result
    report = json.loads(result.stderr.strip().splitlines()[-1])
    report["stdout"] = result.stdout
    return report


@pytest.mark.parametrize(
    "args", [("--help",), ("--version",), ("up", "--help"), ("local", "--help")]
)
def test_help_and_version_import_no_aws_sdk(args: tuple[str, ...]) -> None:
    report = imported_after(*args)
    assert report["code"] in (0, None), report
    assert report["stdout"].strip(), report
    assert report["heavy"] == [], f"pipectl {' '.join(args)} imported {report['heavy']}"


def test_probe_detects_an_sdk_import() -> None:
    """The probe itself works: a command that talks to AWS does import botocore."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pipectl.aws as a, sys; a.translate(Exception('x'));"
            "print('botocore' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "True", result


def test_validating_a_config_file_imports_no_pydantic(tmp_path) -> None:
    """`init` validates the file it writes with the config schema; with a --path and --region
    given, Typer converts a Path and a string option too."""
    target = tmp_path / "pipectl.yaml"
    report = imported_after("init", "--path", str(target), "--region", "eu-west-2", "--force")
    assert report["code"] in (0, None), report
    assert "region: eu-west-2" in target.read_text()
    assert "pydantic" not in report["heavy"], report


def test_an_option_typer_must_convert_is_still_converted() -> None:
    """A value that is not already of its option's type goes through Typer's own conversion."""
    report = imported_after("verify", "--timeout", "abc")
    assert report["code"] == 2, report


def test_the_console_entry_point_holds_the_garbage_collector_off_while_starting() -> None:
    """The probe runs `main` in a fresh interpreter, where nothing else turns the collector
    off (cli_edge.fewer_collections)."""
    report = imported_after("--version")
    assert report["code"] in (0, None), report
    assert report["gc_enabled"] is False, report


def test_the_entry_module_pauses_the_collector_before_the_command_line_loads() -> None:
    """Loading pipectl.__main__ (what both entry points run) collects at most once, before its
    first line: importing Typer and pipectl's modules without the pause runs two dozen."""
    probe = (
        "import gc, sys; runs = []; gc.callbacks.append(lambda phase, _: runs.append(phase)); "
        "import pipectl.__main__; "
        "print(runs.count('start'), 'typer' in sys.modules, gc.isenabled())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    collections, cli_loaded, enabled = result.stdout.split()
    assert int(collections) <= 1 and cli_loaded == "True" and enabled == "False", result


def test_the_garbage_collector_comes_back_after_the_pause() -> None:
    import gc

    from pipectl.cli_edge import fewer_collections

    try:
        fewer_collections(pause_s=0.01).join(timeout=10)
        assert gc.isenabled()
    finally:
        gc.enable()


# A process whose entry point is end_without_teardown(fake_main); fake_main's behaviour comes
# from argv. Effects that must survive the quick end are written to a file, and an object whose
# __del__ would only run in CPython's teardown tells whether that teardown was skipped.
END_PROBE = """
import atexit, os, sys, threading, time
from pipectl.cli_edge import end_without_teardown

# As a plain interpreter: a .pth of the machine's may have registered a handler already (one
# that appends a CA to certifi calls certifi.where(), which registers one); "earlier" adds one.
atexit._clear()
log_path, how, earlier = sys.argv[1], sys.argv[2], sys.argv[3:] == ["earlier"]

def log(text):
    with open(log_path, "a") as f:
        f.write(text + "\\n")

class TornDown:
    def __del__(self, write=os.write):  # bound now: the teardown may have cleared os by then
        write(2, b"teardown ran")

kept = TornDown()
if earlier:  # as a sitecustomize or coverage.py's process start-up would
    atexit.register(log, "earlier atexit handler ran")

def fake_main():
    atexit.register(log, "atexit handler ran")
    def late_writer():
        time.sleep(0.2)
        log("thread finished")
    threading.Thread(target=late_writer).start()
    sys.stdout.write("partial line on stdout")  # no newline: stays in the buffer
    sys.stderr.write("partial line on stderr")
    if how == "exit-3":
        sys.exit(3)
    if how == "exit-message":
        sys.exit("a message")
    if how == "crash":
        raise RuntimeError("a bug")

end_without_teardown(fake_main)
"""


def buffered_env() -> dict[str, str]:
    """This environment without PYTHONUNBUFFERED, so that output waits in buffers as it does
    for users, and a missing flush would lose it."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def run_end_probe(
    tmp_path, how: str, *extra: str, program: str = END_PROBE
) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = tmp_path / "log"
    result = subprocess.run(
        [sys.executable, "-c", program, str(log), how, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=buffered_env(),
    )
    return result, log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(
    ("how", "status"), [("return", 0), ("exit-3", 3), ("exit-message", 1), ("crash", 1)]
)
def test_the_process_ends_with_cpythons_status_and_without_its_teardown(tmp_path, how, status):
    result, log = run_end_probe(tmp_path, how)
    assert result.returncode == status, result
    assert result.stdout == "partial line on stdout"  # flushed before the end
    assert result.stderr.startswith("partial line on stderr"), result.stderr
    assert log == ["thread finished", "atexit handler ran"]  # threads joined, then atexit
    assert "teardown ran" not in result.stderr  # CPython's teardown (freeing objects) skipped
    if how == "exit-message":
        assert "a message" in result.stderr
    if how == "crash":
        assert "RuntimeError: a bug" in result.stderr


def test_an_atexit_handler_registered_before_main_makes_the_process_end_as_usual(tmp_path):
    """It would run after the quick end's handler, that is never: so the process ends the usual
    way, every handler runs once, and the status is still the command's."""
    result, log = run_end_probe(tmp_path, "exit-3", "earlier")
    assert result.returncode == 3, result
    assert result.stdout == "partial line on stdout"
    assert log == ["thread finished", "atexit handler ran", "earlier atexit handler ran"]
    assert "teardown ran" in result.stderr


def test_without_the_quick_end_teardown_runs(tmp_path):
    """The probe's teardown detector works: the same program ending normally frees `kept`."""
    program = END_PROBE.replace("end_without_teardown(fake_main)", "fake_main()")
    result, _ = run_end_probe(tmp_path, "return", program=program)
    assert result.returncode == 0 and "teardown ran" in result.stderr, result


BROKEN_PIPE_STDOUT = """
class BrokenPipeStdout:
    def write(self, text):
        return len(text)
    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")
sys.stdout = BrokenPipeStdout()
"""


def test_a_stdout_that_cannot_be_flushed_ends_with_cpythons_120(tmp_path):
    """As CPython: a closed pipe on stdout at the end (`pipectl status | head -1`) makes the
    status 120, with no traceback."""
    program = END_PROBE.replace("kept = TornDown()", "kept = TornDown()\n" + BROKEN_PIPE_STDOUT)
    result, _ = run_end_probe(tmp_path, "return", program=program)
    assert result.returncode == 120, result
    assert "Traceback" not in result.stderr


CONSOLE_SCRIPT = (
    "import importlib.metadata as m; "
    "(script,) = m.entry_points(group='console_scripts', name='pipectl'); script.load()()"
)


@pytest.mark.parametrize("entry", [["-m", "pipectl"], ["-c", CONSOLE_SCRIPT]])
def test_the_entry_points_end_quickly_with_the_commands_status(tmp_path, entry):
    """`python -m pipectl` and the console script's function keep every exit code: 0 for
    --version (with its output), 2 for a bad flag value before any AWS call."""
    version = subprocess.run(
        [sys.executable, *entry, "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("pipectl "), version
    bad = subprocess.run(
        [sys.executable, *entry, "verify", "--timeout", "abc"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert bad.returncode == 2, bad
    assert "Invalid value for '--timeout'" in bad.stderr
