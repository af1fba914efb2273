"""Reading Lambda's on-failure records back from the queue: the documented format, and everything
else a queue can hold (left alone by replay)."""

from __future__ import annotations

import json

import pytest
from invocation_record_samples import FUNCTION_ARN, on_failure_record, s3_event

from pipectl.replay.records import NotARecord, error_of, parse


def test_the_documented_record():
    event = s3_event("incoming/red flower é.jpg")
    record = parse(json.dumps(on_failure_record(event)))
    assert record.request_payload == event  # replayed exactly as Lambda first received it
    assert record.condition == "RetriesExhausted"
    assert record.attempts == 3
    assert record.failed_at == "2026-11-28T12:03:05.568Z"
    assert record.function_arn == FUNCTION_ARN
    assert record.request_id == "e4b46cbf-b738-xmpl-8880-a18cdf61200e"
    assert record.keys == ("incoming/red flower é.jpg",)  # decoded as the handler decodes it
    assert record.error == "RecordsFailedError: 1 of 1 records failed to write"


def test_a_crash_has_only_an_error_message_and_an_old_event_may_have_no_response():
    crash = on_failure_record(
        s3_event("a.csv"), error_type=None, error_message="Process exited before completing"
    )
    assert parse(json.dumps(crash)).error == "Process exited before completing"
    aged = on_failure_record(s3_event("b.csv"), condition="EventAgeExceeded", attempts=1)
    del aged["responsePayload"], aged["responseContext"]
    record = parse(json.dumps(aged))
    assert (record.condition, record.attempts, record.error) == (
        "EventAgeExceeded",
        1,
        "EventAgeExceeded",
    )


def test_an_event_from_another_source_has_no_keys_but_is_still_a_record():
    record = parse(json.dumps(on_failure_record({"source": "aws.events", "detail": {}})))
    assert record.keys == () and record.request_payload == {"source": "aws.events", "detail": {}}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("hello", "not JSON"),
        ("[1, 2]", "JSON list, not an invocation record"),
        (json.dumps(s3_event("a.csv")), "a bare event, not an invocation record"),
        (
            json.dumps({"requestContext": {"condition": "RetriesExhausted"}}),
            "without requestContext",
        ),
        (json.dumps({"requestContext": "x", "requestPayload": {}}), "without requestContext"),
        (json.dumps({"requestContext": {}, "requestPayload": {}}), "has no condition"),
        (
            json.dumps(on_failure_record(s3_event("a.csv"), condition="Success")),
            "an on-success record",
        ),
    ],
)
def test_anything_else_is_not_a_record(body, problem):
    with pytest.raises(NotARecord, match=problem):
        parse(body)


def test_a_replays_error_payload_as_one_line():
    assert error_of({"errorType": "KeyError", "errorMessage": "'x'", "stackTrace": []}) == (
        "KeyError: 'x'"
    )
    assert error_of({"errorMessage": "Task timed out after 3.00 seconds"}) == (
        "Task timed out after 3.00 seconds"
    )
    assert error_of("plain text") == '"plain text"'
