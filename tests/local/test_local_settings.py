"""The emulator's settings (PIPECTL_LOCAL_*): defaults, values, and bad values refused early."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipectl.errors import EXIT_BAD_INPUT, UsageError
from pipectl.local import server, settings


def test_defaults_without_variables() -> None:
    chosen = settings.from_environ({})

    assert chosen == settings.Settings()
    assert 2 <= chosen.concurrency <= 8
    assert (chosen.idle_s, chosen.retry_delay_s) == (300.0, 1.0)


def test_values_from_the_environment() -> None:
    chosen = settings.from_environ(
        {
            "PIPECTL_LOCAL_CONCURRENCY": "12",
            "PIPECTL_LOCAL_IDLE_S": "2.5",
            "PIPECTL_LOCAL_RETRY_DELAY_S": "0",
        }
    )

    assert chosen == settings.Settings(concurrency=12, idle_s=2.5, retry_delay_s=0.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PIPECTL_LOCAL_CONCURRENCY", "0"),
        ("PIPECTL_LOCAL_CONCURRENCY", "2.5"),
        ("PIPECTL_LOCAL_CONCURRENCY", "many"),
        ("PIPECTL_LOCAL_IDLE_S", "-1"),
        ("PIPECTL_LOCAL_RETRY_DELAY_S", "soon"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(UsageError) as raised:
        settings.from_environ({name: value})

    assert raised.value.exit_code == EXIT_BAD_INPUT
    assert raised.value.message.startswith(f"{name}={value!r} is not ")
    assert f"set {name} to such a value" in raised.value.hint


def test_start_refuses_a_bad_value_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPECTL_LOCAL_CONCURRENCY", "lots")

    with pytest.raises(UsageError, match="PIPECTL_LOCAL_CONCURRENCY='lots'"):
        server.start(home=tmp_path)

    assert not (tmp_path / "emulator.json").exists()
    assert not (tmp_path / "emulator.log").exists()
