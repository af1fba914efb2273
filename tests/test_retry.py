"""The shared backoff: delays, retry of accepted errors only, polling to a deadline."""

from __future__ import annotations

import pytest

from pipectl.retry import Backoff, poll, retry


def test_backoff_grows_by_its_factor_and_stops_at_its_cap():
    delays = Backoff(1.0, 2.0, 8.0).delays()
    assert [next(delays) for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_retry_retries_only_accepted_errors_until_it_succeeds(fake_clock):
    attempts = []

    def call() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("not yet")
        return "done"

    result = retry(call, lambda exc: "not yet" in str(exc), 60, fake_clock.sleep, fake_clock.clock)
    assert result == "done"
    assert fake_clock.sleeps == [1.0, 2.0]


def test_retry_raises_other_errors_at_once(fake_clock):
    def call() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        retry(call, lambda exc: False, 60, fake_clock.sleep, fake_clock.clock)
    assert fake_clock.sleeps == []


def test_retry_gives_up_at_the_deadline_with_the_given_error(fake_clock):
    def call() -> None:
        raise RuntimeError("still propagating")

    with pytest.raises(LookupError, match="gave up"):
        retry(
            call,
            lambda exc: True,
            10,
            fake_clock.sleep,
            fake_clock.clock,
            on_give_up=lambda exc: LookupError(f"gave up: {exc}"),
        )
    assert sum(fake_clock.sleeps) == pytest.approx(10)


def test_poll_returns_the_first_truthy_result(fake_clock):
    answers = iter([None, 0, "ready"])
    assert poll(lambda: next(answers), 60, fake_clock.sleep, fake_clock.clock) == "ready"
    assert len(fake_clock.sleeps) == 2


def test_poll_checks_once_more_at_the_deadline_then_returns_the_last_result(fake_clock):
    calls = []

    def check() -> list[int]:
        calls.append(fake_clock.now)
        return []

    assert poll(check, 1.0, fake_clock.sleep, fake_clock.clock, Backoff(0.4, 1.0, 0.4)) == []
    assert calls[-1] == pytest.approx(1.0)
