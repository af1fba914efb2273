"""Fixtures for the handler tests: its environment, and the module inside moto with a table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from handler_helpers import TABLE, create_table, load_app
from moto import mock_aws


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler's own variables; credentials, region and the removal of AWS_ENDPOINT_URL
    come from tests/conftest.py (moto only intercepts AWS URLs)."""
    for var in ("AWS_ENDPOINT_URL_DYNAMODB", "PARTITION_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TABLE_NAME", TABLE)


@pytest.fixture
def app(aws_env: None) -> Iterator[Any]:
    """The handler module inside mock_aws with the table created and no cached client."""
    with mock_aws():
        create_table()
        module = load_app()
        module._client = None  # the mock must apply to the client the handler creates
        yield module
        module._client = None
