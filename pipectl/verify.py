"""`pipectl verify`: prove the pipeline works end to end; when it does not, say which link broke.

1. Preflight, from the observed states: bucket, pipectl's notification entry, the permission that
   lets S3 invoke the function, the function Active, the table. All are checked and reported; if
   any fails nothing is uploaded (a probe could only time out, telling less than the check does).
2. Probe: upload an object whose key holds a space, a `+` and a non-ASCII letter (S3 URL-encodes
   event keys, aws-notes item 6), poll the table with consistent reads until the item for the
   decoded key is `Processed`, then find the invocation's log lines.
3. Clean up the probe object and item (unless `keep`), whatever happened.

No rendering here: checks go to an `on_check` callback as they finish and the result is data.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from pipectl.aws import error_code, error_message, translate
from pipectl.errors import PipectlError
from pipectl.logs import (
    LogEvent,
    LogGroupMissing,
    handler_fields,
    is_error,
    read_events,
    request_id_of,
)
from pipectl.plan import Context
from pipectl.resources import table as table_resource
from pipectl.resources.permission import statement_drift
from pipectl.resources.trigger import entry_drift, filter_rules

PROBE_DIR = "pipectl-verify/"
PROBE_BODY = b"pipectl verify probe: safe to delete\n"
PUT_EVENTS = {"s3:ObjectCreated:*", "s3:ObjectCreated:Put"}
LOG_SLACK_MS = 5_000  # look a little before the upload: clocks differ between here and AWS
KEYLESS_SKEW_MS = 1_000  # a crash naming no key counts only if it started after the upload
LOG_SCAN_EVERY_S = 1.0  # while waiting for the item, look for function errors this often
REPORT_GRACE_S = 2.0  # once the handler's line is seen, wait this long for END/REPORT
EVIDENCE_LINES = 20
FIRST_DELAY_S, MAX_DELAY_S = 0.1, 1.0

OnCheck = Callable[["Check"], None]


@dataclass(frozen=True)
class Check:
    """One link of the pipeline, as verified: `detail` says what was found, `hint` what to do."""

    name: str
    ok: bool
    detail: str
    hint: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class VerifyResult:
    key: str
    bucket: str
    checks: list[Check] = field(default_factory=list)
    item: dict[str, Any] | None = None
    log_events: list[LogEvent] = field(default_factory=list)
    item_ms: int | None = None  # from the upload to the item seen
    logs_ms: int | None = None  # from the upload to the handler's log line seen
    uploaded: bool = False
    cleanup: list[str] = field(default_factory=list)  # what was removed, or why not

    @property
    def ok(self) -> bool:
        return self.uploaded and all(c.ok for c in self.checks)

    @property
    def failed(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "key": self.key,
            "latency_ms": self.item_ms,
            "logs_latency_ms": self.logs_ms,
            "item": self.item,
            "logs": [e.message for e in self.log_events],
            "checks": [c.as_json() for c in self.checks],
        }


# Preflight -----------------------------------------------------------------------------------


def preflight(ctx: Context, observed: Any) -> list[Check]:
    return [
        check_bucket(ctx, observed["bucket"]),
        check_trigger(ctx, observed["trigger"]),
        check_permission(ctx, observed["permission"]),
        check_function(ctx, observed["function"]),
        check_table(ctx, observed["table"]),
    ]


def check_bucket(ctx: Context, state: Any) -> Check:
    if not state.exists:
        return Check(
            "bucket", False, f"bucket {ctx.bucket_name} does not exist", "run `pipectl up`"
        )
    return Check("bucket", True, f"{ctx.bucket_name} exists")


def check_trigger(ctx: Context, state: Any) -> Check:
    up = "run `pipectl up` to restore pipectl's notification entry"
    if not state.bucket_exists:
        return Check("trigger", False, "no bucket, so no notification", "run `pipectl up`")
    if not state.exists:
        others = len(state.configuration.get("LambdaFunctionConfigurations", []))
        extra = f" ({others} other Lambda entr{'y' if others == 1 else 'ies'})" if others else ""
        return Check(
            "trigger",
            False,
            f"no notification: bucket {ctx.bucket_name} has no entry {state.id}{extra}, "
            "so uploads never invoke the function",
            up,
        )
    drift = entry_drift(ctx, state.entry or {})
    if drift:
        return Check("trigger", False, f"notification {state.id} differs: {'; '.join(drift)}", up)
    events = list((state.entry or {}).get("Events", []))
    if not PUT_EVENTS.intersection(events):
        return Check(
            "trigger",
            False,
            f"the configured events ({', '.join(events)}) do not include s3:ObjectCreated:Put, "
            "which the probe upload sends",
            "add s3:ObjectCreated:* to trigger.events and run `pipectl up`",
        )
    rules = filter_rules(state.entry or {})
    filters = "".join(f", {name} {value!r}" for name, value in sorted(rules.items()))
    return Check("trigger", True, f"{', '.join(events)}{filters} -> {ctx.spec.function.name}")


def check_permission(ctx: Context, state: Any) -> Check:
    if not state.exists:
        return Check(
            "permission",
            False,
            f"permission missing: the policy of {ctx.spec.function.name} has no statement "
            f"{state.sid} letting s3.amazonaws.com invoke it",
            "run `pipectl up` to add it",
        )
    drift = statement_drift(ctx, state.statement or {})
    if drift:
        return Check(
            "permission",
            False,
            f"statement {state.sid} does not let this bucket invoke the function: "
            + "; ".join(drift),
            "run `pipectl up` to correct it",
        )
    return Check(
        "permission", True, f"S3 may invoke it from {ctx.bucket_name} (account {ctx.account_id})"
    )


def check_function(ctx: Context, state: Any) -> Check:
    name = ctx.spec.function.name
    if not state.exists:
        return Check("function", False, f"function {name} does not exist", "run `pipectl up`")
    config = state.config
    status, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
    if status != "Active" or update == "Failed":
        reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or ""
        return Check(
            "function",
            False,
            f"function {name} is {status} (last update {update}){': ' + reason if reason else ''}",
            "wait for it to become Active, or run `pipectl up`",
        )
    return Check("function", True, f"{name} is Active ({config.get('Runtime', '?')})")


def check_table(ctx: Context, state: Any) -> Check:
    if not state.exists:
        return Check("table", False, f"table {state.name} does not exist", "run `pipectl up`")
    problem = table_resource.key_schema_problem(ctx, state)
    if problem:
        return Check("table", False, problem, "set table.name to a table keyed by partition_key")
    if state.status not in {"ACTIVE", "UPDATING"}:
        return Check("table", False, f"table {state.name} is {state.status}", "wait and retry")
    return Check("table", True, f"{state.name} is {state.status}, keyed by {wanted_key(ctx)}")


def wanted_key(ctx: Context) -> str:
    return ctx.spec.table.partition_key


# The probe -----------------------------------------------------------------------------------


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


def delays() -> Iterator[float]:
    """0.1, 0.15, 0.23, ... 1, 1 seconds: quick on the emulator, gentle on AWS."""
    delay = FIRST_DELAY_S
    while True:
        yield delay
        delay = min(delay * 1.5, MAX_DELAY_S)


@dataclass
class Invocation:
    """The log lines of one request id (a stream's lines between its START and REPORT)."""

    request_id: str | None
    events: list[LogEvent] = field(default_factory=list)

    @property
    def errors(self) -> list[LogEvent]:
        return [e for e in self.events if is_error(e.message)]

    def keys(self) -> set[str]:
        """The keys its handler lines name (the handler logs one line per record)."""
        found = set()
        for event in self.events:
            fields = handler_fields(event.message)
            if fields and fields.get("key"):
                found.add(str(fields["key"]))
        return found

    def mentions(self, forms: list[str]) -> bool:
        return any(form in e.message for e in self.events for form in forms)

    def has(self, prefix: str) -> bool:
        return any(e.message.startswith(prefix) for e in self.events)


def invocations(events: list[LogEvent]) -> list[Invocation]:
    """Group lines by request id: a line naming one belongs to it; any other line belongs to the
    invocation open in its stream (Lambda's streams hold one invocation at a time), which is how
    traceback lines without a request id are attributed."""
    groups: dict[str | None, Invocation] = {}
    open_in: dict[str, str] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        rid = request_id_of(event.message)
        if event.message.startswith("START RequestId:") and rid:
            open_in[event.stream] = rid
        owner = rid or open_in.get(event.stream)
        groups.setdefault(owner, Invocation(owner)).events.append(event)
        if event.message.startswith("REPORT RequestId:"):
            open_in.pop(event.stream, None)
    return list(groups.values())


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
        pk = wanted_key(self.ctx)
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


def run(
    ctx: Context,
    observed: Any,
    timeout_s: float,
    keep: bool = False,
    on_check: OnCheck | None = None,
    now: Callable[[], float] = time.time,
) -> VerifyResult:
    """Preflight, probe, clean up. `now` is the wall clock (log timestamps are epoch ms); waits
    use ctx.clock/ctx.sleep so tests run them instantly."""
    result = VerifyResult(probe_key(ctx, now()), ctx.bucket_name)

    def record(check: Check) -> None:
        result.checks.append(check)
        if on_check:
            on_check(check)

    for check in preflight(ctx, observed):
        record(check)
    if not all(c.ok for c in result.checks):
        return result
    probe = Probe(ctx, result.key, timeout_s, now)
    upload = probe.upload()
    record(upload)
    if not upload.ok:
        return result
    result.uploaded = True
    try:
        follow_probe(probe, result, record)
    finally:
        result.cleanup = ["kept (--keep)"] if keep else clean_up(probe)
    return result


def follow_probe(probe: Probe, result: VerifyResult, record: OnCheck) -> None:
    item_check = wait_for_item(probe, result)
    record(item_check)
    if not item_check.ok:
        return
    request_id = (result.item or {}).get("request_id")
    for check in wait_for_logs(probe, result, request_id):
        record(check)


def wait_for_item(probe: Probe, result: VerifyResult) -> Check:
    """Poll until the decoded key's item is Processed, an item under the encoded key appears,
    the function logs errors for the probe, or the deadline passes."""
    ctx, key, pk = probe.ctx, probe.key, wanted_key(probe.ctx)
    last_scan = probe.started
    backoff = delays()
    while True:
        items = probe.read_items()
        item = items.get(key)
        if item is not None and item.get("status") == "Processed":
            result.item, result.item_ms = item, probe.elapsed_ms()
            return Check("item", True, f"{pk} = {key!r}, status Processed, {result.item_ms} ms")
        encoded = next((items[k] for k in encoded_keys(key) if k in items), None)
        if encoded is not None and item is None:
            result.item = encoded
            result.log_events = evidence_for(probe, probe.read_logs() or [])
            return Check(
                "item",
                False,
                f"item appeared with the key still URL-encoded: {pk} = {encoded[pk]!r}, "
                f"want {key!r}",
                "the handler must decode S3 event keys: urllib.parse.unquote_plus(key)",
            )
        if ctx.clock() - last_scan >= LOG_SCAN_EVERY_S:
            last_scan = ctx.clock()
            failing = probe.failing(probe.read_logs() or [])
            if failing:
                return function_failed(probe, result, failing)
        remaining = probe.remaining()
        if remaining <= 0:
            return item_timeout(probe, result, item)
        ctx.sleep(min(next(backoff), remaining))


def function_failed(probe: Probe, result: VerifyResult, failing: list[Invocation]) -> Check:
    result.log_events = [e for inv in failing for e in inv.events]
    errors = [e.message for inv in failing for e in inv.errors]
    first = errors[0] if errors else "an error"
    return Check(
        "invocation",
        False,
        f"function errors: {len(errors)} error line(s) in {len(failing)} invocation(s) of "
        f"{probe.ctx.spec.function.name} since the upload; first: {first}",
        "fix the handler, run `pipectl up`, then `pipectl verify`; see `pipectl logs`",
    )


def item_timeout(probe: Probe, result: VerifyResult, item: dict[str, Any] | None) -> Check:
    """The deadline passed: say what was seen instead, with the log lines since the upload."""
    pk, timeout = wanted_key(probe.ctx), f"{probe.timeout_s:g} s"
    events = probe.read_logs()
    failing = probe.failing(events or [])
    if failing:
        return function_failed(probe, result, failing)
    result.log_events = evidence_for(probe, events or [])
    if item is not None:
        result.item = item
        return Check(
            "item",
            False,
            f"item {pk} = {probe.key!r} has status {item.get('status')!r}, want 'Processed' "
            f"(after {timeout})",
            'check what the handler writes (status = "Processed")',
        )
    started = [inv for inv in invocations(events or []) if inv.has("START RequestId:")]
    if events is None:
        seen = f"log group {probe.ctx.log_group_name} does not exist: the function never ran"
    elif not started and not events:
        seen = "no log line since the upload: S3 did not invoke the function"
    else:
        seen = f"{len(started)} invocation(s) logged since the upload, none wrote the item"
    return Check(
        "item",
        False,
        f"item never appeared within {timeout}: {seen}",
        "see the lines below and `pipectl logs`; on AWS a first invocation can take longer: "
        "try --timeout 120",
    )


def evidence_for(probe: Probe, events: list[LogEvent]) -> list[LogEvent]:
    """The probe's own lines if any, else the last lines since the upload."""
    ours = [e for inv in probe.ours(events) for e in inv.events]
    return ours or sorted(events, key=lambda e: e.timestamp)[-EVIDENCE_LINES:]


def wait_for_logs(probe: Probe, result: VerifyResult, request_id: str | None) -> list[Check]:
    """Logs are seen once the handler's line for the key is in CloudWatch; then wait briefly for
    the invocation's END/REPORT lines, which Lambda writes after the handler returns."""
    ctx = probe.ctx
    backoff = delays()
    seen_at: float | None = None
    while True:
        events = probe.read_logs()
        ours = probe.ours(events or [], request_id)
        lines = [e for inv in ours for e in inv.events]
        if seen_at is None and any(key_line(probe, e) for e in lines):
            seen_at = ctx.clock()
            result.logs_ms = probe.elapsed_ms()
        if seen_at is not None:
            complete = all(inv.has("REPORT RequestId:") for inv in ours if inv.request_id)
            if complete or ctx.clock() - seen_at >= REPORT_GRACE_S or probe.remaining() <= 0:
                result.log_events = lines
                return [logs_check(probe, result, lines), invocation_check(probe, ours)]
        remaining = probe.remaining()
        if remaining <= 0:
            result.log_events = lines
            where = (
                f"log group {ctx.log_group_name} does not exist"
                if events is None
                else f"no line naming the key in {ctx.log_group_name}"
            )
            return [
                Check(
                    "logs",
                    False,
                    f"the item was written but its logs never appeared within "
                    f"{probe.timeout_s:g} s: {where}",
                    "the function's role needs logs:CreateLogStream and logs:PutLogEvents on "
                    "its log group",
                )
            ]
        ctx.sleep(min(next(backoff), remaining))


def key_line(probe: Probe, event: LogEvent) -> bool:
    fields = handler_fields(event.message)
    return bool(fields) and fields.get("key") == probe.key


def logs_check(probe: Probe, result: VerifyResult, lines: list[LogEvent]) -> Check:
    framed = any(e.message.startswith("REPORT RequestId:") for e in lines)
    detail = f"{len(lines)} line(s) in {probe.ctx.log_group_name}, {result.logs_ms} ms"
    return Check("logs", True, detail + ("" if framed else " (no REPORT line yet)"))


def invocation_check(probe: Probe, ours: list[Invocation]) -> Check:
    errors = [e.message for inv in ours for e in inv.errors]
    if errors:
        return Check(
            "invocation",
            False,
            f"function errors: the item was written but the invocation logged "
            f"{len(errors)} error line(s); first: {errors[0]}",
            "see the lines below and `pipectl logs`",
        )
    ids = ", ".join(sorted(inv.request_id for inv in ours if inv.request_id)) or "no request id"
    return Check("invocation", True, f"no errors ({ids})")


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
    pk, failed = wanted_key(ctx), False
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


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain JSON-able values (numbers as int or float)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: jsonable(deserializer.deserialize(value)) for name, value in item.items()}


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(getattr(value, "value", None), bytes):  # boto3's Binary
        return value.value.decode("utf-8", "replace")
    return value
