"""`pipectl results` on in-process moto: --limit, --prefix and --json, newest first among the
items read, and a scan that stops as soon as it has enough (never the whole table)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

TABLE = "ProcessedResults"


@pytest.fixture
def table() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


def fill(dynamodb, keys: list[str]) -> None:
    """One item per key, as the handler writes them; later keys were processed later."""
    for n, key in enumerate(keys):
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "file_name": {"S": key},
                "status": {"S": "Processed"},
                "size": {"N": str(1000 + n)},
                "event_time": {"S": f"2026-11-28T12:{n // 60:02d}:{n % 60:02d}.000Z"},
                "processed_at": {"S": f"2026-11-28T13:{n // 60:02d}:{n % 60:02d}.000+00:00"},
                "bucket": {"S": "the-bucket"},
            },
        )


class ScanMeter:
    """How many Scan calls a run made and how many items they read (ScannedCount)."""

    def __init__(self) -> None:
        self.calls = 0
        self.scanned = 0
        self.limits: list[int] = []

    def hook(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb.Scan", self.before)
        client.meta.events.register("after-call.dynamodb.Scan", self.after)

    def before(self, params: dict[str, Any], **_: Any) -> None:
        self.limits.append(params.get("Limit", 0))

    def after(self, parsed: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.scanned += parsed.get("ScannedCount", 0)


@pytest.fixture
def meter(runtime) -> ScanMeter:
    meter = ScanMeter()
    runtime.hooks.append(meter.hook)
    return meter


def results(cli, *flags: str) -> tuple[Any, dict[str, Any]]:
    result = cli("results", "--json", *flags)
    return result, json.loads(result.stdout)


def test_limit_reads_one_page_not_the_table(table, cli, meter):
    fill(table, [f"k{i:03d}" for i in range(300)])
    result, doc = results(cli)
    assert result.exit_code == 0, result.stderr
    assert list(doc) == ["count", "items"]
    assert doc["count"] == 20 == len(doc["items"])
    assert (meter.calls, meter.scanned, meter.limits) == (1, 20, [20])
    times = [item["processed_at"] for item in doc["items"]]
    assert times == sorted(times, reverse=True)  # newest first among those read


def test_items_are_plain_json(table, cli, meter):
    fill(table, ["a b+é.txt"])
    result, doc = results(cli)
    (item,) = doc["items"]
    assert item == {
        "file_name": "a b+é.txt",
        "status": "Processed",
        "size": 1000,
        "event_time": "2026-11-28T12:00:00.000Z",
        "processed_at": "2026-11-28T13:00:00.000+00:00",
        "bucket": "the-bucket",
    }
    assert doc["count"] == 1


def test_prefix_filters_and_stops_once_enough_are_found(table, cli, meter):
    keys = [f"{'incoming' if i % 3 == 0 else 'other'}/{i:03d}.csv" for i in range(600)]
    fill(table, keys)
    result, doc = results(cli, "--prefix", "incoming/", "--limit", "10")
    assert result.exit_code == 0, result.stderr
    assert doc["count"] == 10
    assert all(item["file_name"].startswith("incoming/") for item in doc["items"])
    assert meter.scanned < 600  # stopped early, never the full table
    assert all(limit == 100 for limit in meter.limits)


def test_fewer_items_than_the_limit(table, cli, meter):
    fill(table, ["x/1", "x/2", "y/3"])
    result, doc = results(cli, "--prefix", "x/", "--limit", "50")
    assert sorted(item["file_name"] for item in doc["items"]) == ["x/1", "x/2"]
    assert doc["count"] == 2
    assert [i["file_name"] for i in doc["items"]] == ["x/2", "x/1"]  # x/2 processed later


def test_human_output_is_a_table_and_says_what_order_it_is(table, cli):
    fill(table, [f"photos/p{i}.jpg" for i in range(30)])
    result = cli("results", "--limit", "5")
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[1]
    for column in ("key", "status", "size", "event time", "processed at"):
        assert column in header
    assert result.stdout.count("photos/p") == 5 and "Processed" in result.stdout
    assert "1000 B" in result.stdout or "1.0 KB" in result.stdout
    assert "newest first among the items read" in result.stderr
    assert "raise --limit" in result.stderr


def test_an_empty_table(table, cli):
    result = cli("results")
    assert result.exit_code == 0
    assert "no items in ProcessedResults yet" in result.stderr
    assert json.loads(cli("results", "--json").stdout) == {"count": 0, "items": []}


def test_a_missing_table_says_to_run_up(table, cli):
    table.delete_table(TableName=TABLE)
    result = cli("results")
    assert result.exit_code == 1
    assert "table ProcessedResults does not exist" in result.stderr
    assert "pipectl up" in result.stderr
