"""`pipectl replay`: the failed events in the on-failure queue, invoked again.

The queue is read in batches of 10 with a short long poll (1 s or more makes SQS ask all of its
servers, so an empty answer means an empty queue; SQS developer guide, "Setting-up long polling").
Each batch stays invisible to other readers for the function's timeout plus a margin while its
events are replayed side by side: a synchronous Invoke (`RequestResponse`) with the original event,
the record's `requestPayload`. A message is deleted only once its replay returned without a
`FunctionError`. Every other message (a replay that failed again, a message that is not an
on-failure record, every message of a dry run) is held until the run ends, so the run does not
read it again, and is then made visible at once (ChangeMessageVisibility 0).

A message can still come back within one run: SQS delivers at least once, and a held message's
visibility may run out during a long run. It is recognised by its MessageId and never replayed
twice in a run (a replayed one is deleted again, another one is held again). Replaying an event
that was already processed is harmless: the handler skips a record whose sequencer is not newer
than the item's (aws-notes item 12).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pipectl.aws import is_botocore_error, translate
from pipectl.context import Context
from pipectl.errors import AwsError
from pipectl.replay.records import FailedInvocation, NotARecord, error_of, parse
from pipectl.resources.common import unless_missing
from pipectl.resources.queue import MessageCounts, read_attributes

BATCH = 10  # ReceiveMessage's maximum
VISIBILITY_MARGIN_S = 30  # on top of the function's timeout: the Invoke's own round trip


class Outcome(str, Enum):
    LISTED = "listed"  # dry run: shown, left in the queue
    REPLAYED = "replayed"  # invoked without error, message deleted
    FAILED = "failed"  # invoked and failed again (or could not be invoked): left in the queue
    FOREIGN = "foreign"  # not a Lambda on-failure record: left alone


@dataclass(frozen=True)
class Event:
    """One message of the queue and what this run did with it."""

    message_id: str
    outcome: Outcome
    record: FailedInvocation | None = None
    problem: str | None = None  # FOREIGN: what the message is instead
    replay_error: str | None = None  # FAILED: the replay's own error

    def as_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "message_id": self.message_id,
            "outcome": self.outcome.value,
            "keys": list(record.keys) if record else [],
            "condition": record.condition if record else None,
            "attempts": record.attempts if record else None,
            "failed_at": record.failed_at if record else None,
            "request_id": record.request_id if record else None,
            "error_type": record.error_type if record else None,
            "error_message": record.error_message if record else None,
            "replay_error": self.replay_error,
            "problem": self.problem,
        }


@dataclass
class ReplayResult:
    queue: str
    dry_run: bool
    events: list[Event] = field(default_factory=list)
    remaining: int = 0  # messages left in the queue after the run
    not_released: int = 0  # held messages SQS would not make visible at once

    def count(self, outcome: Outcome) -> int:
        return sum(1 for event in self.events if event.outcome is outcome)

    @property
    def ok(self) -> bool:
        return self.count(Outcome.FAILED) == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "queue": self.queue,
            "messages": len(self.events),
            "replayed": self.count(Outcome.REPLAYED),
            "failed": self.count(Outcome.FAILED),
            "foreign": self.count(Outcome.FOREIGN),
            "remaining": self.remaining,
            "events": [event.as_json() for event in self.events],
        }


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    limit: int | None = None  # --max: read at most this many messages
    only: frozenset[str] | None = None  # these message ids only (what the user confirmed)
    visibility_s: int = VISIBILITY_MARGIN_S
    long_poll_s: int = 1


def function_timeout(ctx: Context) -> int:
    """The deployed function's timeout: a batch stays invisible that long (plus a margin)."""
    name = ctx.spec.function.name
    lam = ctx.client("lambda")
    config = unless_missing(
        lambda: lam.get_function_configuration(FunctionName=name),
        {"ResourceNotFoundException"},
        None,
        f"reading function {name}",
    )
    if config is None:
        raise AwsError(
            f"function {name} does not exist: there is nothing to replay the events with",
            "run `pipectl up`, then `pipectl replay` again",
        )
    return int(config.get("Timeout") or ctx.spec.function.timeout_s)


def run(
    ctx: Context, queue_url: str, options: Options, on_event: Callable[[Event], None] | None = None
) -> ReplayResult:
    return Replay(ctx, queue_url, options, on_event).run()


class Replay:
    """One pass over the queue; `run` returns what happened to each message it read."""

    def __init__(
        self,
        ctx: Context,
        queue_url: str,
        options: Options,
        on_event: Callable[[Event], None] | None,
    ) -> None:
        self.options = options
        self.url = queue_url
        self.function = ctx.spec.function.name
        self.ctx = ctx
        self.sqs = ctx.client("sqs")
        self.on_event = on_event or (lambda event: None)
        self.result = ReplayResult(ctx.spec.queue_name, options.dry_run)
        self.outcomes: dict[str, Outcome] = {}
        self.held: dict[str, str] = {}  # message id -> latest receipt handle, released at the end
        self.passed_over: set[str] = set()  # read, but not among `options.only`
        self.drained = False

    def run(self) -> ReplayResult:
        try:
            while (wanted := self.wanted()) > 0:
                messages = self.receive(wanted)
                if not messages:
                    self.drained = True
                    break
                self.process([m for m in messages if self.is_new(m)])
        finally:
            self.release()
        self.result.remaining = self.remaining()
        return self.result

    def wanted(self) -> int:
        if self.options.only is not None:
            return min(BATCH, len(self.options.only - self.outcomes.keys()))
        if self.options.limit is not None:
            return min(BATCH, self.options.limit - len(self.outcomes))
        return BATCH

    def receive(self, wanted: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=self.options.visibility_s,
            WaitTimeSeconds=self.options.long_poll_s,
        )
        return response.get("Messages", [])

    def is_new(self, message: dict[str, Any]) -> bool:
        """False for a message this run already read (or passes over); it is dealt with here."""
        message_id, handle = message["MessageId"], message["ReceiptHandle"]
        if self.outcomes.get(message_id) is Outcome.REPLAYED:
            self.delete(handle)  # delivered again after its deletion: SQS is at-least-once
            return False
        if message_id in self.outcomes or message_id in self.passed_over:
            self.held[message_id] = handle  # its newest handle is the one that can release it
            return False
        if self.options.only is not None and message_id not in self.options.only:
            self.passed_over.add(message_id)
            self.held[message_id] = handle
            return False
        return True

    def process(self, messages: list[dict[str, Any]]) -> None:
        """Parse, then replay the batch's records side by side; report in the queue's order."""
        jobs: list[Callable[[], Event]] = []
        for message in messages:
            self.held[message["MessageId"]] = message["ReceiptHandle"]
            jobs.append(self.job_for(message))
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            events = list(pool.map(lambda job: job(), jobs))
        for event in events:
            self.outcomes[event.message_id] = event.outcome
            if event.outcome is Outcome.REPLAYED:
                del self.held[event.message_id]
            self.result.events.append(event)
            self.on_event(event)

    def job_for(self, message: dict[str, Any]) -> Callable[[], Event]:
        message_id = message["MessageId"]
        try:
            record = parse(message.get("Body", ""))
        except NotARecord as exc:
            problem = str(exc)
            return lambda: Event(message_id, Outcome.FOREIGN, problem=problem)
        if self.options.dry_run:
            return lambda: Event(message_id, Outcome.LISTED, record)
        return lambda: self.replay(message_id, message["ReceiptHandle"], record)

    def lambda_client(self) -> Any:
        """The Invoke waits for the function: a read timeout shorter than that would end in a
        retry, running the function twice."""
        return self.ctx.client("lambda", read_timeout=self.options.visibility_s)

    def replay(self, message_id: str, handle: str, record: FailedInvocation) -> Event:
        try:
            response = self.lambda_client().invoke(
                FunctionName=self.function,
                InvocationType="RequestResponse",
                Payload=json.dumps(record.request_payload).encode(),
            )
        except Exception as exc:
            if not is_botocore_error(exc):
                raise
            error = translate(exc, "invoking the function").message
            return Event(message_id, Outcome.FAILED, record, replay_error=error)
        if response.get("FunctionError"):
            error = error_of(payload_of(response))
            return Event(message_id, Outcome.FAILED, record, replay_error=error)
        problem = self.delete(handle)
        if problem:
            error = f"replayed, but its message could not be deleted ({problem}): a later replay "
            error += "finds it again and the handler skips it as already processed"
            return Event(message_id, Outcome.FAILED, record, replay_error=error)
        return Event(message_id, Outcome.REPLAYED, record)

    def delete(self, handle: str) -> str | None:
        """DeleteMessage; the error's text when it failed."""
        try:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=handle)
        except Exception as exc:
            if not is_botocore_error(exc):
                raise
            return translate(exc).message
        return None

    def release(self) -> None:
        """Make every held message visible again at once, 10 per ChangeMessageVisibilityBatch."""
        handles = list(self.held.values())
        for chunk in chunks(handles, BATCH):
            entries = [
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for index, handle in enumerate(chunk)
            ]
            try:
                response = self.sqs.change_message_visibility_batch(
                    QueueUrl=self.url, Entries=entries
                )
            except Exception as exc:
                if not is_botocore_error(exc):
                    raise
                self.result.not_released += len(chunk)
                continue
            self.result.not_released += len(response.get("Failed", []))

    def remaining(self) -> int:
        """Exact when the run read the queue to its end; else SQS's approximate count."""
        kept = len(self.held)
        if self.drained:
            return kept
        counts = MessageCounts.of(read_attributes(self.sqs, self.url))
        return max(kept, counts.total)


def payload_of(response: dict[str, Any]) -> Any:
    raw = response.get("Payload")
    data = raw.read() if hasattr(raw, "read") else raw or b""
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
