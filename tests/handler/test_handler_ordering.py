"""The ordering rule of handler/app.py (its module docstring), row by row against moto.

Every row stores a first version of one key (from a record, or an item as the previous handler
version wrote it), sends a second record, and checks the outcome: ``processed`` replaces the
item with the second record's version; ``skipped`` leaves it byte-identical.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from handler_helpers import (
    BUCKET,
    CONTEXT,
    TABLE,
    backfill_record,
    client,
    get_item,
    log_lines,
    make_record,
    record_lines,
)

KEY = "photos/red flower é.jpg"
ENCODED_KEY = "photos/red+flower+%C3%A9.jpg"
LAST_MODIFIED = "2026-11-28T12:00:05.000Z"  # the backfilled object's (S3: whole seconds)
EARLIER_SECOND = "2026-11-28T12:00:04.999Z"
SECOND_START = "2026-11-28T12:00:05.000Z"  # an S3 eventTime exactly at LastModified's second
SAME_SECOND = "2026-11-28T12:00:05.300Z"
LATER_SECOND = "2026-11-28T12:00:06.000Z"
RUN_1 = "20261129T120000Z-ab12cd"
RUN_2 = "20261130T080000Z-ef34ab"


def s3(etag: str, time: str, sequencer: str | None = None) -> dict[str, Any]:
    """A real S3 record for KEY (with a sequencer like AWS's, or none like moto's)."""
    return make_record(ENCODED_KEY, sequencer, time=time, eTag=etag)


def backfill(etag: str, last_modified: str = LAST_MODIFIED, run: str = RUN_1) -> dict[str, Any]:
    return backfill_record(ENCODED_KEY, run=run, last_modified=last_modified, etag=etag)


def legacy(etag: str, time: str | None, sequencer: str | None = None) -> dict[str, Any]:
    """An item exactly as the previous handler version wrote it: no source, no run id."""
    item = {
        "file_name": {"S": KEY},
        "bucket": {"S": BUCKET},
        "status": {"S": "Processed"},
        "event_name": {"S": "ObjectCreated:Put"},
        "processed_at": {"S": "2026-11-01T09:00:00.000+00:00"},
        "etag": {"S": etag},
        "request_id": {"S": "req-old"},
        "size": {"N": "7"},
    }
    if time:
        item["event_time"] = {"S": time}
    if sequencer:
        item["sequencer"] = {"S": sequencer}
        item["sequencer_sort"] = {"S": sequencer.lower().rjust(64, "0")}
    return {"legacy_item": item}


def store(app: Any, first: dict[str, Any] | None) -> None:
    if first is None:
        return
    if "legacy_item" in first:
        client().put_item(TableName=TABLE, Item=first["legacy_item"])
    else:
        assert app.lambda_handler({"Records": [first]}, CONTEXT)["processed"] == 1


def source_of(record: dict[str, Any]) -> str:
    return "backfill" if "pipectl" in record else "s3"


P, S = "processed", "skipped"
ROWS = [
    # rule 1: nothing to order by
    pytest.param(None, s3("v1", SAME_SECOND), P, id="1-no-item-s3"),
    pytest.param(None, backfill("v1"), P, id="1-no-item-backfill"),
    pytest.param(legacy("v0", None), s3("v1", EARLIER_SECOND), P, id="1-item-without-time-s3"),
    pytest.param(legacy("v0", None), backfill("v1"), P, id="1-item-without-time-backfill"),
    # rule 2: sequencers decide between S3 records
    pytest.param(s3("v1", SAME_SECOND, "0A"), s3("v2", SAME_SECOND, "0B"), P, id="2-newer-seq"),
    pytest.param(s3("v1", SAME_SECOND, "0A"), s3("v1", SAME_SECOND, "0A"), S, id="2-same-event"),
    pytest.param(s3("v2", SAME_SECOND, "0B"), s3("v1", SAME_SECOND, "0A"), S, id="2-older-seq"),
    pytest.param(s3("v1", SAME_SECOND, "0A"), s3("v1", LATER_SECOND, "0B"), P, id="2-same-etag"),
    pytest.param(s3("v1", LATER_SECOND, "0A"), s3("v2", SAME_SECOND, "0B"), P, id="2-seq-not-time"),
    pytest.param(
        legacy("v1", SAME_SECOND, "0A"), s3("v2", SAME_SECOND, "0B"), P, id="2-legacy-newer"
    ),
    pytest.param(
        legacy("v2", SAME_SECOND, "0B"), s3("v1", SAME_SECOND, "0A"), S, id="2-legacy-older"
    ),
    # rule 3: S3 record over an item without a sequencer
    pytest.param(s3("v1", SECOND_START), s3("v2", SAME_SECOND), P, id="3-later-time"),
    pytest.param(s3("v1", SAME_SECOND), s3("v1", SAME_SECOND), S, id="3-same-event"),
    pytest.param(s3("v2", SAME_SECOND), s3("v1", SECOND_START), S, id="3-earlier-time"),
    pytest.param(s3("v1", SECOND_START), s3("v1", SAME_SECOND), S, id="3-same-etag-later"),
    pytest.param(backfill("v1"), s3("v2", SAME_SECOND), P, id="3-reupload-same-second"),
    pytest.param(backfill("v1"), s3("v2", SECOND_START), P, id="3-reupload-at-second-start"),
    pytest.param(backfill("v1"), s3("v2", SAME_SECOND, "0B"), P, id="3-reupload-sequenced"),
    pytest.param(backfill("v1"), s3("v2", LATER_SECOND), P, id="3-reupload-later"),
    pytest.param(backfill("v2"), s3("v1", EARLIER_SECOND), S, id="3-older-upload-late"),
    pytest.param(backfill("v2"), s3("v1", EARLIER_SECOND, "0A"), S, id="3-older-seq-late"),
    pytest.param(backfill("v1"), s3("v1", SAME_SECOND, "0A"), S, id="3-version-backfilled"),
    # rule 4: backfill record over an S3 item
    pytest.param(s3("v2", SAME_SECOND, "0B"), backfill("v1"), S, id="4-newer-same-second"),
    pytest.param(s3("v2", SECOND_START), backfill("v1"), S, id="4-newer-at-second-start"),
    pytest.param(s3("v2", LATER_SECOND), backfill("v1"), S, id="4-newer-later-second"),
    pytest.param(s3("v0", EARLIER_SECOND, "0A"), backfill("v1"), P, id="4-older-item"),
    pytest.param(s3("v1", SAME_SECOND, "0A"), backfill("v1"), P, id="4-same-version"),
    pytest.param(s3("v1", LATER_SECOND), backfill("v1"), P, id="4-same-version-slow-upload"),
    pytest.param(legacy("v1", SAME_SECOND, "0A"), backfill("v1"), P, id="4-legacy-same-version"),
    pytest.param(legacy("v2", SAME_SECOND, "0B"), backfill("v1"), S, id="4-legacy-newer"),
    pytest.param(legacy("v0", EARLIER_SECOND), backfill("v1"), P, id="4-legacy-older"),
    # rule 4: backfill record over a backfill item
    pytest.param(backfill("v1"), backfill("v1"), S, id="4-same-run"),
    pytest.param(backfill("v1"), backfill("v2", LATER_SECOND), S, id="4-same-run-other-etag"),
    pytest.param(backfill("v1"), backfill("v1", run=RUN_2), P, id="4-new-run-same-version"),
    pytest.param(backfill("v1"), backfill("v2", LATER_SECOND, RUN_2), P, id="4-new-run-newer"),
    pytest.param(backfill("v1"), backfill("v2", run=RUN_2), P, id="4-new-run-same-second"),
    pytest.param(backfill("v2", LATER_SECOND), backfill("v1", run=RUN_2), S, id="4-new-run-older"),
]


@pytest.mark.parametrize(("first", "second", "outcome"), ROWS)
def test_ordering_rule(
    app: Any,
    capsys: pytest.CaptureFixture[str],
    first: dict[str, Any] | None,
    second: dict[str, Any],
    outcome: str,
) -> None:
    store(app, first)
    before = get_item(KEY)
    capsys.readouterr()

    result = app.lambda_handler({"Records": [copy.deepcopy(second)]}, CONTEXT)

    assert result == {"processed": 0, "skipped": 0, "failed": 0, outcome: 1}
    lines = log_lines(capsys)
    [summary] = [line for line in lines if line["message"] == "invocation summary"]
    assert summary["rejected_writes"] == (1 if outcome == S else 0)  # billed as a write (stats)
    after = get_item(KEY)
    assert after is not None
    if outcome == S:
        assert after == before  # byte-identical, processed_at included
        reason = (
            "newer_item_or_duplicate" if source_of(second) == "backfill" else "stale_or_duplicate"
        )
        [line] = [line for line in lines if "outcome" in line]  # the record's own line
        assert (line["reason"], line["level"]) == (reason, "INFO")
    else:
        assert after["etag"] == {"S": second["s3"]["object"]["eTag"]}
        assert after["source"] == {"S": source_of(second)}
        run = second.get("pipectl", {}).get("run_id")
        assert after.get("backfill_run_id") == ({"S": run} if run else None)


# --- the scenarios named in the brief ----------------------------------------------------------


def test_backfill_record_creates_an_item_that_says_so(
    app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    record = backfill_record(
        "incoming/red+flower+%C3%A9.jpg", last_modified=LAST_MODIFIED, versionId="3HL4kqtJ"
    )

    assert app.lambda_handler({"Records": [record]}, CONTEXT)["processed"] == 1

    item = get_item("incoming/red flower é.jpg")
    assert item is not None
    assert {name: value for name, value in item.items() if name != "processed_at"} == {
        "file_name": {"S": "incoming/red flower é.jpg"},
        "bucket": {"S": BUCKET},
        "status": {"S": "Processed"},
        "source": {"S": "backfill"},
        "backfill_run_id": {"S": RUN_1},
        "event_name": {"S": "ObjectCreated:Put"},
        "event_time": {"S": "2026-11-28T12:00:05+00:00"},  # LastModified, to the second
        "etag": {"S": "d41d8cd98f00b204e9800998ecf8427e"},
        "version_id": {"S": "3HL4kqtJ"},
        "size": {"N": "1024"},
        "request_id": {"S": "req-0001"},
    }
    line, summary = log_lines(capsys)
    assert (line["outcome"], line["source"], line["run_id"]) == ("processed", "backfill", RUN_1)
    assert (summary["records"], summary["backfill"], summary["processed"]) == (1, 1, 1)


@pytest.mark.parametrize("backfill_first", [True, False], ids=["backfill-first", "real-first"])
def test_object_reuploaded_in_the_backfilled_second_ends_as_the_real_event(
    app: Any, backfill_first: bool
) -> None:
    """The object is listed (LastModified 12:00:05, eTag v1), then re-uploaded within the same
    second (eventTime 12:00:05.300, eTag v2): whatever the arrival order, the item ends as v2."""
    listed, reuploaded = backfill("v1"), s3("v2", SAME_SECOND, "0055AED6DCD90281F0")
    order = [listed, reuploaded] if backfill_first else [reuploaded, listed]

    outcomes = [app.lambda_handler({"Records": [record]}, CONTEXT) for record in order]

    assert [o["processed"] for o in outcomes] == ([1, 1] if backfill_first else [1, 0])
    item = get_item(KEY)
    assert item is not None
    assert (item["etag"], item["source"]) == ({"S": "v2"}, {"S": "s3"})
    assert item["sequencer"] == {"S": "0055AED6DCD90281F0"}


def test_backfill_all_reprocesses_the_same_version_once_per_run(app: Any) -> None:
    app.lambda_handler({"Records": [s3("v1", SAME_SECOND, "0A")]}, CONTEXT)

    first_run = app.lambda_handler({"Records": [backfill("v1", run=RUN_1)]}, CONTEXT)
    first_run_again = app.lambda_handler({"Records": [backfill("v1", run=RUN_1)]}, CONTEXT)
    second_run = app.lambda_handler({"Records": [backfill("v1", run=RUN_2)]}, CONTEXT)

    assert [r["processed"] for r in (first_run, first_run_again, second_run)] == [1, 0, 1]
    item = get_item(KEY)
    assert item is not None and item["backfill_run_id"] == {"S": RUN_2}


def test_replayed_events_never_double_process(app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Lambda's retry and `pipectl replay` send the original payload again: every record that
    was applied is skipped and its item stays byte-identical."""
    keys = [f"replay/{i}.csv" for i in range(4)]
    backfill_event = {"Records": [backfill_record(k, etag=f"e{k[-5]}") for k in keys]}
    real_event = copy.deepcopy(
        {"Records": [make_record(k, f"0A{i}", eTag="r") for i, k in enumerate(keys)]}
    )
    for event in (backfill_event, real_event):
        app.lambda_handler(copy.deepcopy(event), CONTEXT)
        items = [get_item(k) for k in keys]

        for _ in range(2):
            replayed = app.lambda_handler(copy.deepcopy(event), CONTEXT)
            assert replayed == {"processed": 0, "skipped": 4, "failed": 0}
            assert [get_item(k) for k in keys] == items


@pytest.mark.parametrize(
    "marker",
    [{"backfill": "true"}, {"backfill": 1}, {"run_id": RUN_1}, "backfill", None],
    ids=["string-true", "one", "no-flag", "not-a-dict", "null"],
)
def test_only_backfill_true_marks_a_backfill_record(app: Any, marker: Any) -> None:
    record = make_record(ENCODED_KEY, time=SAME_SECOND)
    record["pipectl"] = marker

    assert app.lambda_handler({"Records": [record]}, CONTEXT)["processed"] == 1
    item = get_item(KEY)
    assert item is not None and item["source"] == {"S": "s3"} and "backfill_run_id" not in item


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("run_id", None),
        ("run_id", ""),
        ("lastModified", None),
        ("lastModified", "2026-11-28 noon"),
    ],
)
def test_backfill_record_without_its_marker_fields_is_malformed(
    app: Any, capsys: pytest.CaptureFixture[str], field: str, value: Any
) -> None:
    record = backfill(etag="v1")
    record["pipectl"][field] = value

    assert app.lambda_handler({"Records": [record]}, CONTEXT)["skipped"] == 1
    assert get_item(KEY) is None
    [line] = record_lines(capsys)
    assert line["reason"] == "malformed" and field.lower() in line["detail"].lower()


# --- the time encoding the rule relies on ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "whole_seconds", "expected"),
    [
        ("2026-11-28T12:00:00.000Z", False, "2026-11-28T12:00:00.000Z"),
        ("2026-11-28T12:00:00.123456Z", False, "2026-11-28T12:00:00.123Z"),
        ("2026-11-28T13:00:00.5+01:00", False, "2026-11-28T12:00:00.500Z"),
        ("2026-11-28T12:00:00", False, "2026-11-28T12:00:00.000Z"),
        ("2026-11-28T12:00:07.000Z", True, "2026-11-28T12:00:07+00:00"),
        ("2026-11-28T12:00:07.999Z", True, "2026-11-28T12:00:07+00:00"),
    ],
)
def test_canonical_time(app: Any, value: str, whole_seconds: bool, expected: str) -> None:
    assert app.canonical_time(value, whole_seconds) == expected


@pytest.mark.parametrize("value", [None, "", "soon", 1764331200])
def test_canonical_time_rejects_non_times(app: Any, value: Any) -> None:
    with pytest.raises(app.MalformedRecordError):
        app.canonical_time(value)


def test_a_last_modified_sorts_between_the_seconds_around_it(app: Any) -> None:
    """The string order the conditions compare: S3 eventTimes of the previous second < the
    second's LastModified < every S3 eventTime within that second."""
    last_modified = app.canonical_time(LAST_MODIFIED, whole_seconds=True)
    times = [app.canonical_time(t) for t in (EARLIER_SECOND, SECOND_START, SAME_SECOND)]

    assert times[0] < last_modified < times[1] < times[2]
    assert last_modified < app.canonical_time(LATER_SECOND, whole_seconds=True)
