"""The probe: an object whose key holds a space, a `+` and a non-ASCII letter (S3 URL-encodes
event keys, aws-notes item 6), the reads that follow it through the table and the logs, and its
clean-up."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote_plus

from pipectl.aws import error_code, error_message, translate
from pipectl.context import Context
from pipectl.errors import PipectlError
from pipectl.invocations import Invocation, invocations
from pipectl.items import plain_item
from pipectl.logs import LogEvent, LogGroupMissing, read_events
from pipectl.verify.result import Check

PROBE_DIR = "pipectl-verify/"
PROBE_BODY = b"pipectl verify probe: safe to delete\n"
LOG_SLACK_MS = 5_000  # look a little before the upload: clocks differ between here and AWS
KEYLESS_SKEW_MS = 1_000  # a crash naming no key counts only if it started after the upload


def probe_key(ctx: Context, now: float) -> str:
    """`<prefix>pipectl-verify/probe <time>-<random>+é<suffix or .txt>`.

    The trigger's prefix/suffix filters decide which keys invoke the function: a probe key outside
    them could never fire, so it starts with the prefix and ends with the suffix. The space, `+`
    and `é` make S3 URL-encode the key in the event; a handler that forgets to decode it writes
    its item under the encoded key, which `wait_for_item` detects.
    """
    trigger = ctx.spec.trigger
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = f"probe {stamp}-{secrets.token_hex(3)}+é{trigger.suffix or '.txt'}"
    return f"{trigger.prefix}{PROBE_DIR}{name}"


def encoded_keys(key: str) -> list[str]:
    """The key as S3 sends it in the event: AWS keeps `/`, moto encodes it too."""
    return list(dict.fromkeys(k for k in (quote_plus(key, safe="/"), quote_plus(key)) if k != key))


def key_forms(key: str) -> list[str]:
    """How a log line may spell the key: as is, JSON-escaped (the handler's json.dumps writes
    `é` as `\\u00e9`) or URL-encoded."""
    escaped = json_escaped(key)
    return list(dict.fromkeys([key, escaped, *encoded_keys(key)]))


def json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]


class Probe:
    """One probe run: the key, the deadline, and the reads that follow the key through."""

    def __init__(self, ctx: Context, key: str, timeout_s: float, now: Callable[[], float]):
        self.ctx = ctx
        self.key = key
        self.forms = key_forms(key)
        self.timeout_s = timeout_s
        self.now = now
        self.version_id: str | None = None
        self.started = 0.0  # ctx.clock() when the upload returned
        self.deadline = 0.0
        self.upload_ms = 0  # epoch ms just before the upload, for the log search

    def elapsed_ms(self) -> int:
        return int(round((self.ctx.clock() - self.started) * 1000))

    def remaining(self) -> float:
        return self.deadline - self.ctx.clock()

    # steps ---------------------------------------------------------------------------------
    def upload(self) -> Check:
        self.upload_ms = int(self.now() * 1000)
        try:
            response = self.ctx.client("s3").put_object(
                Bucket=self.ctx.bucket_name,
                Key=self.key,
                Body=PROBE_BODY,
                ContentType="text/plain",
            )
        except Exception as exc:
            error = translate(exc, "uploading the probe")
            hint = error.hint or (
                f"your credentials or the bucket policy must allow s3:PutObject on "
                f"{self.ctx.bucket_name}/{PROBE_DIR}*"
            )
            return Check("upload", False, error.message, hint)
        finally:
            self.started = self.ctx.clock()
            self.deadline = self.started + self.timeout_s
        self.version_id = response.get("VersionId")
        return Check("upload", True, f"s3://{self.ctx.bucket_name}/{self.key}")

    def read_items(self) -> dict[str, dict[str, Any]]:
        """The items under the decoded key and its URL-encoded forms, by key, in one
        strongly consistent BatchGetItem."""
        pk = self.ctx.spec.table.partition_key
        table = self.ctx.spec.table.name
        keys = [self.key, *encoded_keys(self.key)]
        response = self.ctx.client("dynamodb").batch_get_item(
            RequestItems={table: {"Keys": [{pk: {"S": k}} for k in keys], "ConsistentRead": True}}
        )
        items = response.get("Responses", {}).get(table, [])
        return {item[pk]["S"]: plain_item(item) for item in items if "S" in item.get(pk, {})}

    def read_logs(self) -> list[LogEvent] | None:
        """Every event since just before the upload; None when the log group does not exist."""
        try:
            return list(
                read_events(
                    self.ctx.client("logs"), self.ctx.log_group_name, self.upload_ms - LOG_SLACK_MS
                )
            )
        except LogGroupMissing:
            return None

    def ours(self, events: list[LogEvent], request_id: str | None = None) -> list[Invocation]:
        """The invocations that handled the probe: they name its key (in any spelling) or the
        request id stored in its item."""
        return [
            inv
            for inv in invocations(events)
            if (request_id and inv.request_id == request_id) or inv.mentions(self.forms)
        ]

    def failing(self, events: list[LogEvent]) -> list[Invocation]:
        """Invocations since the upload that logged errors and either handled the probe or
        crashed before naming any key (an import error, a bad handler): both are the probe's
        failure. Invocations that name only other keys are someone else's uploads, and a keyless
        one must have started after the upload (the log search reaches a little before it)."""
        after = self.upload_ms - KEYLESS_SKEW_MS

        def probes(inv: Invocation) -> bool:
            if inv.mentions(self.forms):
                return True
            return not inv.keys() and min(e.timestamp for e in inv.events) >= after

        return [inv for inv in invocations(events) if inv.errors and inv.request_id and probes(inv)]


def clean_up(probe: Probe) -> list[str]:
    """Delete the probe object (its version, if versioned) and the items under its key and the
    key's encoded forms: nothing else. A failure is a note, never an exception."""
    ctx, notes = probe.ctx, []
    extra = {"VersionId": probe.version_id} if probe.version_id else {}
    try:
        ctx.client("s3").delete_object(Bucket=ctx.bucket_name, Key=probe.key, **extra)
        notes.append(f"deleted s3://{ctx.bucket_name}/{probe.key}")
    except Exception as exc:
        notes.append(f"could not delete the probe object: {describe(exc)}")
    pk, failed = ctx.spec.table.partition_key, False
    for key in [probe.key, *encoded_keys(probe.key)]:
        try:
            ctx.client("dynamodb").delete_item(TableName=ctx.spec.table.name, Key={pk: {"S": key}})
        except Exception as exc:
            notes.append(f"could not delete item {key!r}: {describe(exc)}")
            failed = True
    if not failed:
        notes.append(f"deleted any probe item from {ctx.spec.table.name}")
    return notes


def describe(exc: BaseException) -> str:
    if isinstance(exc, PipectlError):
        return exc.message
    code = error_code(exc)
    return f"{code}: {error_message(exc)}" if code else str(exc)
