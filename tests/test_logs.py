"""`pipectl logs`: --since parsing, pagination, a missing log group, JSON Lines, and --follow with
events arriving between polls (late ones included), each printed exactly once."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

import boto3
import pytest

from pipectl import logs as core
from pipectl.aws import Aws, Target
from pipectl.errors import UsageError

GROUP = "/aws/lambda/serverless-data-processor"
STREAM = "2026/11/28/[$LATEST]0123456789abcdef0123456789abcdef"
OTHER = "2026/11/28/[$LATEST]fedcba9876543210fedcba9876543210"
NOW = 1_800_000_000.0  # a fixed wall clock for parsing


def logs_client(url: str):
    return boto3.client("logs", endpoint_url=url, region_name="us-east-1")


def now_ms() -> int:
    return int(time.time() * 1000)


class Group:
    """The function's log group on the moto server, and a way to add events to it."""

    def __init__(self, url: str) -> None:
        self.client = logs_client(url)
        self.client.create_log_group(logGroupName=GROUP)
        self.streams: set[str] = set()

    def put(self, *messages: str, at: int | None = None, stream: str = STREAM) -> None:
        if stream not in self.streams:
            self.client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
            self.streams.add(stream)
        start = now_ms() if at is None else at
        self.client.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)],
        )


@pytest.fixture
def group(moto_url) -> Group:
    return Group(moto_url)


@pytest.fixture
def aws(moto_url) -> Aws:
    """pipectl's own AWS seam (it counts the calls)."""
    return Aws(Target(region="us-east-1", endpoint_url=moto_url))


# --since -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_s"),
    [
        ("10m", NOW - 600),
        ("30s", NOW - 30),
        ("2h", NOW - 7200),
        ("1d", NOW - 86400),
        (" 5M ", NOW - 300),
        ("2026-11-28T12:00:00Z", datetime(2026, 11, 28, 12, tzinfo=timezone.utc).timestamp()),
        ("2026-11-28T12:00:00", datetime(2026, 11, 28, 12, tzinfo=timezone.utc).timestamp()),
        ("2026-11-28T13:00:00+01:00", datetime(2026, 11, 28, 12, tzinfo=timezone.utc).timestamp()),
        ("2026-11-28", datetime(2026, 11, 28, tzinfo=timezone.utc).timestamp()),
    ],
)
def test_since_forms(text, expected_s):
    assert core.parse_since(text, NOW) == int(expected_s * 1000)


@pytest.mark.parametrize("text", ["", "10", "m10", "10 minutes", "-5m", "1w", "yesterday"])
def test_malformed_since_is_a_usage_error(text):
    with pytest.raises(UsageError, match="--since"):
        core.parse_since(text, NOW)


def test_malformed_since_exits_2_before_any_aws_call(cli, runtime, moto_url):
    result = cli("logs", "--endpoint-url", moto_url, "--since", "last tuesday")
    assert result.exit_code == 2
    assert "--since 'last tuesday'" in result.stderr and "10m, 2h, 1d" in result.stderr
    assert runtime.last_aws is None or runtime.last_aws.calls.calls == []


# reading -------------------------------------------------------------------------------------


def test_missing_log_group_means_no_logs_yet(cli, moto_url):
    result = cli("logs", "--endpoint-url", moto_url)
    assert result.exit_code == 0, result.stderr
    assert "no logs yet" in result.stderr
    assert result.stdout == ""
    assert cli("logs", "--endpoint-url", moto_url, "--json").stdout == ""


def test_human_lines_show_time_stream_and_readable_handler_lines(cli, moto_url, group):
    rid = "0f3c2d1e-aaaa-bbbb-cccc-1234567890ab"
    handler = {"level": "INFO", "message": "record processed", "key": "a b+é.txt", "size": 3}
    group.put(
        f"START RequestId: {rid} Version: $LATEST",
        json.dumps(handler),
        json.dumps({"level": "ERROR", "message": "record failed", "key": "x"}),
        "[ERROR] RuntimeError: boom",
        f"REPORT RequestId: {rid}\tDuration: 3.00 ms",
        at=now_ms() - 1000,
    )
    result = cli("logs", "--endpoint-url", moto_url)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    stamp = r"\d\d:\d\d:\d\d\.\d\d\d"
    assert all(re.match(stamp + " 01234567 ", line) for line in lines)
    assert lines[1].endswith('INFO record processed  key="a b+é.txt" size=3')
    assert lines[2].endswith("ERROR record failed  key=x")
    assert lines[3].endswith("[ERROR] RuntimeError: boom")
    assert lines[4].endswith(f"REPORT RequestId: {rid}  Duration: 3.00 ms")


def test_json_lines(cli, moto_url, group):
    group.put("one", "two", stream=STREAM)
    group.put("three", stream=OTHER)
    result = cli("logs", "--endpoint-url", moto_url, "--json")
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(e["message"] for e in events) == ["one", "three", "two"]
    assert all(set(e) == {"timestamp", "stream", "message"} for e in events)
    assert all(isinstance(e["timestamp"], int) for e in events)
    assert {e["stream"] for e in events} == {STREAM, OTHER}


def test_since_and_filter_select_events(cli, moto_url, group):
    group.put("old line", at=now_ms() - 3 * 3600 * 1000)
    group.put("recent ERROR line", "recent other line", at=now_ms() - 60_000)
    result = cli("logs", "--endpoint-url", moto_url, "--since", "2h", "--json")
    assert [json.loads(x)["message"] for x in result.stdout.splitlines()] == [
        "recent ERROR line",
        "recent other line",
    ]
    result = cli("logs", "--endpoint-url", moto_url, "--since", "1d", "--filter", "ERROR")
    assert result.exit_code == 0, result.stderr
    assert [line.split(" ", 2)[2] for line in result.stdout.splitlines()] == ["recent ERROR line"]


def test_empty_window_says_so(cli, moto_url, group):
    group.put("old", at=now_ms() - 3600 * 1000)
    result = cli("logs", "--endpoint-url", moto_url, "--since", "5m")
    assert result.exit_code == 0
    assert result.stdout == "" and "no log events" in result.stderr


def test_pagination_reads_every_page(aws, group):
    group.put(*[f"line {i}" for i in range(10)], at=now_ms() - 5000)
    seen = []
    count = core.read(aws.client("logs"), GROUP, 0, seen.append, page_size=3)
    assert count == 10
    assert [e.message for e in seen] == [f"line {i}" for i in range(10)]
    assert aws.calls.calls.count("logs.FilterLogEvents") == 4  # 3 + 3 + 3 + 1


# --follow ------------------------------------------------------------------------------------


class Scripted:
    """An injected sleep that makes things happen between polls: step i runs after poll i."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.steps:
            self.steps.pop(0)()


def test_follow_prints_events_arriving_between_polls_once_across_pages(aws, group):
    base = now_ms() - 20_000
    group.put("a1", "a2", "a3", at=base)
    sleep = Scripted(
        lambda: group.put("b1", "b2", "b3", at=base + 5000),
        lambda: None,  # a poll with nothing new: the overlap is re-read, nothing re-printed
        lambda: group.put("c1", at=base + 9000, stream=OTHER),
    )
    seen = []
    emitted = core.follow(
        aws.client("logs"),
        GROUP,
        base - 1000,
        seen.append,
        sleep=sleep,
        page_size=2,  # every poll crosses page boundaries
        max_polls=4,
    )
    assert [e.message for e in seen] == ["a1", "a2", "a3", "b1", "b2", "b3", "c1"]
    assert emitted == 7
    assert sleep.slept == [core.POLL_S] * 3
    assert aws.calls.calls.count("logs.FilterLogEvents") > 4  # pages, not one call per poll


def test_follow_prints_a_late_event_within_the_overlap_exactly_once(aws, group):
    base = now_ms() - 60_000
    group.put("first", "second", at=base)
    # Ingested after the first poll, stamped before the newest event seen: still printed.
    sleep = Scripted(
        lambda: group.put("late", at=base - 3000, stream=OTHER),
        lambda: group.put("third", at=base + 100),
    )
    seen = []
    core.follow(aws.client("logs"), GROUP, base - 10_000, seen.append, sleep=sleep, max_polls=4)
    messages = [e.message for e in seen]
    assert messages == ["first", "second", "late", "third"]
    assert len(set(e.identity for e in seen)) == len(seen)


def test_follow_waits_for_a_missing_log_group(moto_url, aws):
    missing = []
    client = logs_client(moto_url)

    def create() -> None:
        client.create_log_group(logGroupName=GROUP)
        client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        client.put_log_events(
            logGroupName=GROUP,
            logStreamName=STREAM,
            logEvents=[{"timestamp": now_ms(), "message": "hello"}],
        )

    seen = []
    core.follow(
        aws.client("logs"),
        GROUP,
        now_ms() - 1000,
        seen.append,
        sleep=Scripted(lambda: None, create),
        max_polls=4,
        on_missing=lambda: missing.append(1),
    )
    assert missing == [1]  # said once, not on every poll
    assert [e.message for e in seen] == ["hello"]


def test_seen_window_forgets_ids_outside_the_overlap():
    window = core.SeenWindow(overlap_ms=1000)
    old = core.LogEvent(1000, STREAM, "old", "1")
    new = core.LogEvent(5000, STREAM, "new", "2")
    assert window.fresh([old, new]) == [old, new]
    assert window.fresh([new]) == []
    assert set(window.seen) == {new.identity}  # bounded: `old` can no longer be returned
    assert window.start_from(0) == 4000
    assert window.start_from(4500) == 4500  # never before --since


def test_follow_through_the_cli_ctrl_c_exits_0(cli, moto_url, group, runtime):
    group.put("before", at=now_ms() - 1000)

    def interrupt() -> None:
        raise KeyboardInterrupt

    runtime.timing.sleep = Scripted(lambda: group.put("during"), lambda: None, interrupt)
    result = cli("logs", "--endpoint-url", moto_url, "--follow", "--json")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(x)["message"] for x in result.stdout.splitlines()] == ["before", "during"]


def test_messages_are_printed_verbatim(cli, moto_url, group):
    group.put("[bold]not markup[/] and :smile: is not an emoji", at=now_ms() - 1000)
    result = cli("logs", "--endpoint-url", moto_url)
    assert result.stdout.rstrip().endswith("[bold]not markup[/] and :smile: is not an emoji")
