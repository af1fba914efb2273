"""Concurrent writes in handler/app.py: keys in parallel on a bounded pool, each key's records in
order, every record tried, log lines in record order. Observed through botocore event hooks on
the handler's client (no timing assertions)."""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import pytest
from handler_helpers import (
    CONTEXT,
    all_keys,
    backfill_record,
    get_item,
    log_lines,
    make_record,
    record_lines,
)


class PutWatcher:
    """A before-send hook on PutItem: notes each request's key and sequencer, and how many
    requests (and which keys) are in flight at once; `delay` keeps each one in flight a while."""

    def __init__(self, delay: Any) -> None:
        self.delay = delay if callable(delay) else (lambda: delay)
        self.lock = threading.Lock()
        self.in_flight: list[str] = []
        self.max_in_flight = 0
        self.same_key_overlaps = 0
        self.puts: list[tuple[str, str | None]] = []
        self.threads: set[str] = set()

    def __call__(self, request: Any, **_: Any) -> None:
        item = json.loads(request.body)["Item"]
        key = item["file_name"]["S"]
        with self.lock:
            self.same_key_overlaps += key in self.in_flight
            self.in_flight.append(key)
            self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
            self.puts.append((key, item.get("sequencer", {}).get("S")))
            self.threads.add(threading.current_thread().name)
        time.sleep(self.delay())
        with self.lock:
            self.in_flight.remove(key)

    def attach(self, app: Any) -> PutWatcher:
        app._get_client().meta.events.register("before-send.dynamodb.PutItem", self)
        return self


def expected_outcomes(records: list[dict[str, Any]], stored: dict[str, str]) -> list[str]:
    """What the rule gives for S3 records with sequencers: per key in sequencer order, a record
    is processed when its sequencer is greater than the stored one (a model, not the code)."""
    outcomes = [""] * len(records)
    current = dict(stored)
    by_key: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_key.setdefault(record["s3"]["object"]["key"], []).append(index)
    for key, indexes in by_key.items():
        for index in sorted(
            indexes, key=lambda i: int(records[i]["s3"]["object"]["sequencer"], 16)
        ):
            sequencer = int(records[index]["s3"]["object"]["sequencer"], 16)
            newer = key not in current or sequencer > int(current[key], 16)
            outcomes[index] = "processed" if newer else "skipped"
            current[key] = records[index]["s3"]["object"]["sequencer"] if newer else current[key]
    return outcomes


def test_thousand_record_event_with_repeated_keys_keeps_each_keys_order(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(20261129)
    # 50 keys already hold a newer version than anything in the event (their records are stale).
    stale = [f"single/{i:03d}.csv" for i in range(50)]
    app.lambda_handler({"Records": [make_record(k, "FF00", eTag="newest") for k in stale]}, CONTEXT)
    # 500 keys once each; 100 keys 5 times each, shuffled, one of every fifth key's records a
    # duplicate (same sequencer and eTag) of another of its records.
    records = [make_record(f"single/{i:03d}.csv", "0A00", eTag="a") for i in range(500)]
    newest: dict[str, str] = {}
    for i in range(100):
        sequencers = [f"0B{n:02X}" for n in range(1, 6)]
        if i % 5 == 0:
            sequencers[4] = sequencers[rng.randrange(4)]
        key = f"repeated/{i:03d}.csv"
        records += [make_record(key, s, eTag=f"e{s}") for s in sequencers]
        newest[key] = max(sequencers)
    rng.shuffle(records)
    assert len(records) == 1000
    expected = expected_outcomes(records, {k: "FF00" for k in stale})
    capsys.readouterr()

    result = app.lambda_handler({"Records": records}, CONTEXT)

    assert result == {
        "processed": expected.count("processed"),
        "skipped": expected.count("skipped"),
        "failed": 0,
    }
    assert expected.count("skipped") == 50 + 20  # the stale keys, the duplicates
    lines = record_lines(capsys)
    keys = [r["s3"]["object"]["key"] for r in records]
    assert [(line["key"], line["outcome"]) for line in lines] == list(
        zip(keys, expected, strict=True)
    )
    for key, sequencer in newest.items():
        item = get_item(key)
        assert item is not None and item["sequencer"] == {"S": sequencer}
    item = get_item("single/000.csv")
    assert item is not None and item["etag"] == {"S": "newest"}


def test_backfill_event_skips_newer_items_and_its_own_duplicates(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [f"backfill/{i:03d}.csv" for i in range(200)]
    newer = keys[:20]  # re-uploaded after the listing: a newer real event with another eTag
    app.lambda_handler(
        {"Records": [make_record(k, "0A", time="2026-11-28T12:00:00.500Z") for k in newer]},
        CONTEXT,
    )
    already = keys[20:40]  # this run's earlier, partly failed invocation wrote these
    app.lambda_handler({"Records": [backfill_record(k) for k in already]}, CONTEXT)
    capsys.readouterr()

    result = app.lambda_handler({"Records": [backfill_record(k) for k in keys]}, CONTEXT)

    assert result == {"processed": 160, "skipped": 40, "failed": 0}
    lines = log_lines(capsys)
    assert [line["outcome"] for line in lines[:-1]] == ["skipped"] * 40 + ["processed"] * 160
    assert {line["reason"] for line in lines[:40]} == {"newer_item_or_duplicate"}
    assert (lines[-1]["records"], lines[-1]["backfill"]) == (200, 200)


def test_writes_overlap_on_a_bounded_pool_and_one_key_never_overlaps_itself(app: Any) -> None:
    # Each request waits 20 ms before moto sees it: long enough for every free worker to have
    # its own request waiting too, so an unbounded pool would show more than WRITE_WORKERS.
    watcher = PutWatcher(delay=0.02).attach(app)
    # 60 keys, 3 records each, listed newest first.
    records = [
        make_record(f"k{k:02d}.txt", f"0{s}", eTag=f"e{s}") for s in "CBA" for k in range(60)
    ]

    assert app.lambda_handler({"Records": records}, CONTEXT)["processed"] == 180

    assert 1 < watcher.max_in_flight <= app.WRITE_WORKERS
    assert watcher.same_key_overlaps == 0
    for k in range(60):
        assert [s for key, s in watcher.puts if key == f"k{k:02d}.txt"] == ["0A", "0B", "0C"]
    assert app._get_client().meta.config.max_pool_connections == app.WRITE_WORKERS


def test_an_event_with_one_key_is_written_without_threads(app: Any) -> None:
    watcher = PutWatcher(delay=0).attach(app)
    records = [make_record("one.txt", f"0{s}", eTag=s) for s in "AB"]

    assert app.lambda_handler({"Records": records}, CONTEXT)["processed"] == 2
    assert watcher.threads == {threading.main_thread().name}


def test_failed_writes_among_many_do_not_stop_the_others_then_raise(
    app: Any, faults: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def for_key(params: dict[str, Any]) -> bool:
        return json.loads(params["body"])["Item"]["file_name"]["S"] == "k042.txt"

    faults.add("dynamodb.PutItem", "ThrottlingException", "Rate exceeded", times=None, when=for_key)
    faults.hook(app._get_client())
    records = [make_record(f"k{i:03d}.txt", "0A", eTag="a") for i in range(100)]
    records.append(make_record("k042.txt", "0B", eTag="b"))  # the same key again, later

    with pytest.raises(app.RecordsFailedError, match="2 of 101"):
        app.lambda_handler({"Records": records}, CONTEXT)

    assert faults.fired == ["dynamodb.PutItem"] * 2  # both records of k042 were tried
    assert all_keys() == {f"k{i:03d}.txt" for i in range(100)} - {"k042.txt"}
    lines = log_lines(capsys)
    failed = [line for line in lines if line.get("outcome") == "failed"]
    assert [(line["key"], line["reason"], line["retryable"]) for line in failed] == [
        ("k042.txt", "ThrottlingException", True)
    ] * 2
    assert lines[-1]["message"] == "invocation summary"
    assert (lines[-1]["processed"], lines[-1]["failed"]) == (99, 2)


def test_log_lines_follow_record_order_whatever_finishes_first(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(7)
    PutWatcher(delay=lambda: rng.choice((0, 0.001, 0.004))).attach(app)
    records: list[Any] = [make_record(f"k{i:02d}.txt", "0A") for i in range(40)]
    records[5] = {"eventSource": "aws:sqs"}  # not ours: skipped before any write
    records[30]["s3"]["object"].pop("eTag")  # malformed: skipped before any write

    app.lambda_handler({"Records": records}, CONTEXT)

    lines = log_lines(capsys)
    assert [line.get("key") for line in lines[:-1]] == [
        None if i in (5, 30) else f"k{i:02d}.txt" for i in range(40)
    ]
    assert [line["outcome"] for line in lines[:-1]].count("skipped") == 2
    assert lines[-1]["message"] == "invocation summary"
