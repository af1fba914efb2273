"""Lifecycle of the embedded emulator: start, start again, status, stop, stale records, ports."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from emulator_helpers import Aws, free_port, process_gone, wait_for

from pipectl.errors import PipectlError
from pipectl.local import server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """PIPECTL_HOME in a temporary directory; any emulator left running is stopped."""
    monkeypatch.setenv("PIPECTL_HOME", str(tmp_path))
    yield tmp_path
    server.stop(tmp_path)


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port some other program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_home_dir_follows_pipectl_home(home: Path) -> None:
    assert server.home_dir() == home


def test_start_twice_status_stop(home: Path) -> None:
    port = free_port()
    results: list[tuple[server.EmulatorInfo, bool]] = []
    # Two concurrent starts: the lock lets exactly one of them start a server.
    starts = [
        threading.Thread(target=lambda: results.append(server.start(port=port))) for _ in range(2)
    ]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join()
    (first, started_1), (second, started_2) = results
    assert sorted([started_1, started_2]) == [False, True]
    assert first == second and first.port == port
    assert first.endpoint_url == f"http://127.0.0.1:{port}"

    again, started = server.start()  # no port: the running one is found, whatever its port
    assert (again, started) == (first, False)
    record = json.loads((home / "emulator.json").read_text())
    assert (record["pid"], record["port"]) == (first.pid, port)
    assert Path(record["log_file"]) == home / "emulator.log"

    time.sleep(0.05)
    current = server.status()
    assert current == first and current.uptime_s >= 0.05

    stopped = server.stop()
    assert stopped == first
    assert process_gone(first.pid)
    assert not (home / "emulator.json").exists()
    assert server.status() is None
    assert server.stop() is None


def test_status_removes_a_record_whose_process_is_dead(home: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = {"pid": dead.pid, "port": free_port(), "started_at": time.time(), "log_file": ""}
    (home / "emulator.json").write_text(json.dumps(record))

    assert server.status() is None
    assert not (home / "emulator.json").exists()


def test_status_removes_a_record_nobody_answers_on(home: Path) -> None:
    # A live pid (this test's own) but nothing listening on the recorded port.
    record = {"pid": os.getpid(), "port": free_port(), "started_at": time.time()}
    (home / "emulator.json").write_text(json.dumps(record))

    assert server.status() is None
    assert not (home / "emulator.json").exists()


def test_status_removes_an_unreadable_record(home: Path) -> None:
    (home / "emulator.json").write_text("{not json")

    assert server.status() is None
    assert not (home / "emulator.json").exists()


def test_a_taken_default_port_makes_it_pick_another(
    home: Path, held_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "DEFAULT_PORT", held_port)

    info = server.ensure_running()

    assert info.port != held_port
    assert server.status() == info


def test_a_taken_explicit_port_is_an_error(home: Path, held_port: int) -> None:
    with pytest.raises(PipectlError, match=f"port {held_port} .* in use"):
        server.start(port=held_port)
    assert not (home / "emulator.json").exists()


def test_a_server_dying_at_startup_reports_its_log(
    home: Path, held_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The port looks free when checked but is taken when the server binds it.
    monkeypatch.setattr(server, "_port_free", lambda port: True)

    with pytest.raises(PipectlError, match="exited during startup") as raised:
        server.start(port=held_port)

    assert "Address already in use" in raised.value.hint
    assert not (home / "emulator.json").exists()


def test_stop_kills_functions_still_running_and_warm_ones(home: Path, tmp_path: Path) -> None:
    info, _ = server.start(port=free_port())
    aws = Aws(info.endpoint_url)
    aws.create_function(
        "warm", "import os\ndef lambda_handler(event, context):\n    return os.getpid()\n"
    )
    warm_pid = json.loads(aws.client("lambda").invoke(FunctionName="warm")["Payload"].read())
    assert not process_gone(warm_pid)  # kept warm for the next invocation
    pid_file = tmp_path / "pid"
    source = (
        "import os, time\n"
        "def lambda_handler(event, context):\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(60)\n"
    )
    aws.create_function("long-runner", source, timeout_s=120)
    # Invoke in the background: the call returns only when the function ends, or fails when
    # the emulator goes away under it (no retries, so that is at once).
    client = aws.session.client(
        "lambda", endpoint_url=info.endpoint_url, config=Config(retries={"total_max_attempts": 1})
    )

    def invoke() -> None:
        with contextlib.suppress(BotoCoreError, ClientError):
            client.invoke(FunctionName="long-runner")

    invoking = threading.Thread(target=invoke, daemon=True)
    invoking.start()
    function_pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 15, "pid"))

    server.stop()

    assert process_gone(info.pid)
    wait_for(lambda: process_gone(function_pid), 5, "the function's process to be gone")
    wait_for(lambda: process_gone(warm_pid), 5, "the warm environment to be gone")
    invoking.join(timeout=10)
    assert not invoking.is_alive()


def test_status_and_stop_do_not_create_a_missing_home(tmp_path: Path) -> None:
    missing = tmp_path / "never-made"

    assert server.status(missing) is None and server.stop(missing) is None
    assert not missing.exists()
