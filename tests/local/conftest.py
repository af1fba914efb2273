"""Fixtures for the embedded-emulator tests: one started emulator per module, and its clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_helpers import Aws, free_port

from pipectl.local import server


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.EmulatorInfo]:
    """One emulator per test module, on a free port, with its own home directory."""
    home: Path = tmp_path_factory.mktemp("pipectl-home")
    info, started = server.start(port=free_port(), home=home)
    assert started
    yield info
    server.stop(home=home)


@pytest.fixture(scope="module")
def aws(emulator: server.EmulatorInfo) -> Aws:
    return Aws(emulator.endpoint_url)
