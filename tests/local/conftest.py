"""Fixtures for the embedded-emulator tests: one started emulator per module, and its clients.

A module that needs the emulator started with other settings overrides `emulator_env`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_helpers import Aws, free_port

from pipectl.local import server


@pytest.fixture(scope="module")
def emulator_env() -> dict[str, str]:
    """Environment variables the module's emulator is started with (its settings)."""
    return {}


@pytest.fixture(scope="module")
def emulator_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipectl-home")


@pytest.fixture(scope="module")
def emulator(emulator_home: Path, emulator_env: dict[str, str]) -> Iterator[server.EmulatorInfo]:
    """One emulator per test module, on a free port, with its own home directory."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in emulator_env.items():
            patch.setenv(name, value)
        info, started = server.start(port=free_port(), home=emulator_home)
    assert started
    yield info
    server.stop(home=emulator_home)


@pytest.fixture(scope="module")
def aws(emulator: server.EmulatorInfo) -> Aws:
    return Aws(emulator.endpoint_url)
