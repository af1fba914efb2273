"""What AWS does to a backfill, injected as real botocore errors (tests/conftest.py's
FaultInjector, or a botocore hook): throttling waited out with the shared backoff and never
dropped, DynamoDB's unprocessed keys asked again, a run that is interrupted or loses its
credentials reported with its counts and resumed by running it again."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from backfill_helpers import document, write_items

from pipectl.backfill.dispatch import THROTTLED
from pipectl.backfill.existing import UNPROCESSED
from pipectl.backfill.run import CHECK_DEADLINE_S, INVOKE_DEADLINE_S

KEYS = [f"data/{i % 2}/file {i}+é.csv" for i in range(40)]


def backfill(cli, *flags: str):
    result = cli("backfill", "--yes", "--json", *flags)
    return result, document(result)


def delays(backoff, n: int) -> list[float]:
    steps = backoff.delays()
    return [next(steps) for _ in range(n)]


# --- Invoke ------------------------------------------------------------------------------------


def test_a_throttled_invoke_backs_off_and_sends_everything(
    pipeline, cli, fake_lambda, faults, fake_clock
):
    pipeline(KEYS)
    faults.add("lambda.Invoke", "TooManyRequestsException", "Rate Exceeded.", times=4, status=429)
    result, doc = backfill(cli, "--batch-size", "10", "--concurrency", "1")
    assert result.exit_code == 0, result.stderr
    assert (doc["dispatched"], doc["failed"], doc["invocations"]) == (40, 0, 4)
    assert faults.fired.count("lambda.Invoke") == 4
    assert fake_clock.sleeps == delays(THROTTLED, 4)  # the shared backoff: 0.5, 1, 2, 4 s
    assert sorted(fake_lambda.keys) == sorted(KEYS)


@pytest.mark.parametrize(
    ("code", "status"), [("ServiceException", 500), ("EC2ThrottledException", 502)]
)
def test_server_errors_are_retried(pipeline, cli, fake_lambda, faults, code, status):
    pipeline(KEYS)
    faults.add("lambda.Invoke", code, times=2, status=status)
    result, doc = backfill(cli)
    assert result.exit_code == 0, result.stderr
    assert doc["dispatched"] == 40 and sorted(fake_lambda.keys) == sorted(KEYS)


def test_records_refused_until_the_deadline_are_counted_and_listed(
    pipeline, cli, fake_lambda, faults, fake_clock
):
    pipeline(KEYS)
    unlucky = "data/1/file 1+é.csv"
    faults.add(
        "lambda.Invoke",
        "TooManyRequestsException",
        times=None,
        status=429,
        when=lambda params: b"file+1%2B" in params["body"],
    )
    result, doc = backfill(cli, "--batch-size", "5")
    assert result.exit_code == 1
    assert doc["ok"] is False
    assert doc["failed"] == 5 and unlucky in doc["failed_keys"]
    assert doc["dispatched"] == 35 and len(set(fake_lambda.keys)) == 35
    assert set(doc["failed_keys"]).isdisjoint(fake_lambda.keys)
    assert fake_clock.now >= INVOKE_DEADLINE_S  # retried for the whole deadline, not dropped
    human = cli("backfill", "--yes", "--batch-size", "5")
    assert human.exit_code == 1
    assert "not accepted by Lambda after retries" in human.stderr and unlucky in human.stderr


def test_a_missing_function_stops_the_run_at_once(pipeline, cli, fake_lambda, faults):
    pipeline(KEYS)
    faults.add("lambda.Invoke", "ResourceNotFoundException", "Function not found", times=None)
    result, doc = backfill(cli, "--batch-size", "5", "--concurrency", "1")
    assert result.exit_code == 1
    assert doc["ok"] is False and doc["dispatched"] == 0
    assert "Function not found" in doc["error"]
    assert faults.fired.count("lambda.Invoke") == 1


# --- BatchGetItem ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)],
)
def test_a_failing_batch_get_page_is_retried(
    pipeline, cli, fake_lambda, faults, fake_clock, code, status
):
    pipeline(KEYS)
    write_items(KEYS[:15])
    faults.add("dynamodb.BatchGetItem", code, times=3, status=status)
    result, doc = backfill(cli, "--batch-size", "20", "--concurrency", "1")
    assert result.exit_code == 0, result.stderr
    assert (doc["skipped"], doc["dispatched"]) == (15, 25)
    assert sorted(fake_lambda.keys) == sorted(KEYS[15:])
    assert fake_clock.sleeps == delays(UNPROCESSED, 3)


def test_a_batch_get_that_is_denied_stops_before_any_invoke(pipeline, cli, fake_lambda, faults):
    pipeline(KEYS)
    faults.add("dynamodb.BatchGetItem", "AccessDeniedException", "not allowed", times=None)
    result, doc = backfill(cli)
    assert result.exit_code == 1
    assert "access denied" in doc["error"] and fake_lambda.events == []
    assert "--all" not in result.stderr or "pipectl backfill" in result.stderr


class PartialBatchGet:
    """DynamoDB answering only part of each BatchGetItem (as when a call exceeds throughput):
    for the first `rounds` calls, half of the keys come back as UnprocessedKeys; with `rounds`
    None, every call leaves every key unprocessed."""

    def __init__(self, rounds: int | None = None) -> None:
        self.rounds = rounds
        self.held = threading.local()
        self.calls = 0

    def hook(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", self.hold)
        client.meta.events.register("after-call.dynamodb.BatchGetItem", self.give_back)

    def hold(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.held.keys = {}
        if self.rounds is None:
            self.held.keys = {t: list(r["Keys"]) for t, r in params["RequestItems"].items()}
            return
        if self.calls > self.rounds:
            return
        for table, request in params["RequestItems"].items():
            keys = request["Keys"]
            half = max(1, len(keys) // 2)
            request["Keys"], self.held.keys[table] = keys[:half], keys[half:]

    def give_back(self, parsed: dict[str, Any], **_: Any) -> None:
        if self.rounds is None:
            parsed["Responses"] = {}
        parsed["UnprocessedKeys"] = {t: {"Keys": k} for t, k in self.held.keys.items() if k}


def test_unprocessed_keys_are_asked_again_with_backoff(
    pipeline, cli, fake_lambda, runtime, fake_clock
):
    pipeline(KEYS)
    write_items(KEYS[::2])
    partial = PartialBatchGet(rounds=3)
    runtime.hooks.append(partial.hook)
    result, doc = backfill(cli, "--batch-size", "40", "--concurrency", "1")
    assert result.exit_code == 0, result.stderr
    assert (doc["skipped"], doc["dispatched"]) == (20, 20)
    assert sorted(fake_lambda.keys) == sorted(KEYS[1::2])
    assert partial.calls == 4  # 40 keys -> 20 + 20 unprocessed -> 10 + 10 -> 5 + 5 -> 5
    assert fake_clock.sleeps == delays(UNPROCESSED, 3)


def test_keys_left_unprocessed_until_the_deadline_stop_the_run(
    pipeline, cli, fake_lambda, runtime, fake_clock
):
    pipeline(KEYS)
    runtime.hooks.append(PartialBatchGet(rounds=None).hook)
    result, doc = backfill(cli)
    assert result.exit_code == 1
    assert "unprocessed" in doc["error"] and "again" in doc["hint"]
    assert fake_clock.now >= CHECK_DEADLINE_S
    assert fake_lambda.events == []


# --- interrupted, resumed ----------------------------------------------------------------------


def interrupt_on_invoke(number: int):
    """A client hook: Ctrl-C arrives during the `number`th Invoke call."""
    count = {"n": 0}

    def before_call(model: Any, **_: Any) -> None:
        if model.name == "Invoke" and model.service_model.service_name == "lambda":
            count["n"] += 1
            if count["n"] == number:
                raise KeyboardInterrupt

    def hook(client: Any) -> None:
        # the same event name as the fault injector and FakeLambda use, ahead of both
        client.meta.events.register_first("before-call.*.*", before_call)

    return hook


def test_an_interrupted_run_says_what_it_sent_and_a_rerun_finishes(
    pipeline, cli, fake_lambda, runtime
):
    pipeline(KEYS)
    fake_lambda.process = True  # each accepted event writes its items, as the function would
    runtime.hooks.append(interrupt_on_invoke(3))
    result, doc = backfill(cli, "--batch-size", "10", "--concurrency", "1")
    assert result.exit_code == 130
    assert doc["interrupted"] is True and doc["ok"] is False
    assert doc["dispatched"] == 20 == len(fake_lambda.keys)
    assert "continues where this run stopped" in result.stderr

    runtime.hooks.pop()
    result, doc = backfill(cli, "--batch-size", "10")
    assert result.exit_code == 0, result.stderr
    assert (doc["skipped"], doc["dispatched"]) == (20, 20)
    assert sorted(fake_lambda.keys) == sorted(KEYS)  # every key once over both runs


def test_expired_credentials_stop_the_run_and_a_rerun_finishes(pipeline, cli, fake_lambda, faults):
    pipeline(KEYS)
    fake_lambda.process = True
    calls = {"n": 0}

    def after_two(params: dict) -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    faults.add(
        "lambda.Invoke",
        "ExpiredTokenException",
        "The security token included in the request is expired",
        times=None,
        when=after_two,
    )
    result, doc = backfill(cli, "--batch-size", "10", "--concurrency", "1")
    assert result.exit_code == 1
    assert doc["dispatched"] == 20 and "session expired" in doc["error"]
    assert "session expired" in result.stderr and "continues where" in result.stderr

    faults.rules.clear()
    result, doc = backfill(cli, "--batch-size", "10")
    assert result.exit_code == 0, result.stderr
    assert doc["dispatched"] == 20 and sorted(fake_lambda.keys) == sorted(KEYS)


def test_human_output_of_an_interrupted_run(pipeline, cli, fake_lambda, runtime):
    pipeline(KEYS)
    runtime.hooks.append(interrupt_on_invoke(2))
    result = cli("backfill", "--yes", "--batch-size", "10", "--concurrency", "1")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr and "10 dispatched" in result.stderr
    assert json.dumps(result.stdout) == '""'
