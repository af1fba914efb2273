"""The records backfill sends: the contract with handler/app.py, field by field, and payloads
cut under the size limit."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote_plus

import pytest

from pipectl.backfill.records import (
    PAYLOAD_LIMIT,
    Destination,
    ListedObject,
    events,
    iso_millis,
    new_run_id,
    record,
)

WHERE = Destination("the-bucket", "eu-west-1")
MODIFIED = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=timezone.utc)


def test_a_record_is_exactly_the_contract():
    etag = '"d41d8cd98f00b204e9800998ecf8427e"'  # as listed: in quotes
    obj = ListedObject("incoming/red flower é.jpg", 1024, etag, MODIFIED)
    assert record(obj, WHERE, "20261129T120000Z-ab12cd") == {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-11-28T12:00:00.123Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "pipectl-backfill"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "pipectl-backfill",
            "bucket": {"name": "the-bucket", "arn": "arn:aws:s3:::the-bucket"},
            "object": {
                "key": "incoming/red+flower+%C3%A9.jpg",
                "size": 1024,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
            },
        },
        "pipectl": {
            "backfill": True,
            "run_id": "20261129T120000Z-ab12cd",
            "lastModified": "2026-11-28T12:00:00.123Z",
        },
    }


@pytest.mark.parametrize(
    "key", ["a+b.txt", "a b.txt", "100%.txt", "ü/ß/日本.txt", "x?y#z&=.csv", "deep/a/b/c/d.bin"]
)
def test_keys_are_encoded_as_s3_sends_them_and_decode_back(key):
    obj = ListedObject(key, 1, "e", MODIFIED)
    encoded = record(obj, WHERE, "r")["s3"]["object"]["key"]
    assert unquote_plus(encoded) == key  # what the handler does (AWS notes item 6)
    assert " " not in encoded and (key.count("+") == 0 or "%2B" in encoded)


def test_a_version_id_is_sent_only_when_there_is_one():
    versioned = ListedObject("k", 1, "e", MODIFIED, version_id="3HL4kqtJlcpXroDTDmJ")
    plain = ListedObject("k", 1, "e", MODIFIED)
    assert record(versioned, WHERE, "r")["s3"]["object"]["versionId"] == "3HL4kqtJlcpXroDTDmJ"
    assert "versionId" not in record(plain, WHERE, "r")["s3"]["object"]
    assert "sequencer" not in record(plain, WHERE, "r")["s3"]["object"]


def test_times_are_utc_with_milliseconds_and_z():
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2026, 1, 2, 9, 0, 5, 7000, tzinfo=tokyo)
    assert iso_millis(moment) == "2026-01-02T00:00:05.007Z"


def test_run_ids_name_the_start_time_and_differ():
    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
    first, second = new_run_id(now), new_run_id(now)
    assert re.fullmatch(r"20261129T120000Z-[0-9a-f]{6}", first)
    assert first != second


def test_events_are_cut_under_the_limit_and_keep_every_record_once():
    objects = [ListedObject(f"k/{i:04d}/" + "x" * 900, i, "e", MODIFIED) for i in range(1000)]
    cut = list(events(objects, WHERE, "r"))
    assert len(cut) > 1
    assert all(len(e.payload) <= PAYLOAD_LIMIT for e in cut)
    decoded = [json.loads(e.payload) for e in cut]
    keys = [unquote_plus(r["s3"]["object"]["key"]) for d in decoded for r in d["Records"]]
    assert keys == [o.key for o in objects]
    assert [len(d["Records"]) for d in decoded] == [len(e.keys) for e in cut]
    # each cut is as full as it can be: one more record would not have fitted
    for event, following in zip(cut, cut[1:], strict=False):
        assert len(event.payload) + len(following.payload) // len(following.keys) > PAYLOAD_LIMIT


def test_a_small_batch_is_one_event():
    objects = [ListedObject(f"k{i}", i, "e", MODIFIED) for i in range(100)]
    (only,) = events(objects, WHERE, "r")
    assert len(json.loads(only.payload)["Records"]) == 100
    assert list(events([], WHERE, "r")) == []
