"""Verify's two waits: for the probe's item in the table, then for its lines in the logs. Each
polls with the shared PROBE backoff (0.1 s growing to 1 s) until the probe's deadline, and when it
gives up says what it saw instead."""

from __future__ import annotations

from typing import Any

from pipectl.invocations import Invocation, invocations
from pipectl.logs import LogEvent, handler_fields
from pipectl.retry import PROBE, poll
from pipectl.verify.probe import Probe, encoded_keys
from pipectl.verify.result import Check, VerifyResult

LOG_SCAN_EVERY_S = 1.0  # while waiting for the item, look for function errors this often
REPORT_GRACE_S = 2.0  # once the handler's line is seen, wait this long for END/REPORT
EVIDENCE_LINES = 20


def wait_for_item(probe: Probe, result: VerifyResult) -> Check:
    """Poll until the decoded key's item is Processed, an item under the encoded key appears,
    the function logs errors for the probe, or the deadline passes."""
    ctx, key, pk = probe.ctx, probe.key, probe.ctx.spec.table.partition_key
    last_scan, item = probe.started, None

    def attempt() -> Check | None:
        nonlocal last_scan, item
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
        return None

    found = poll(attempt, probe.remaining(), ctx.sleep, ctx.clock, PROBE)
    return found or item_timeout(probe, result, item)


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
    pk, timeout = probe.ctx.spec.table.partition_key, f"{probe.timeout_s:g} s"
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
    seen_at: float | None = None
    events: list[LogEvent] | None = None
    lines: list[LogEvent] = []

    def attempt() -> list[Check] | None:
        nonlocal seen_at, events, lines
        events = probe.read_logs()
        ours = probe.ours(events or [], request_id)
        lines = [e for inv in ours for e in inv.events]
        if seen_at is None and any(key_line(probe, e) for e in lines):
            seen_at = ctx.clock()
            result.logs_ms = probe.elapsed_ms()
        if seen_at is None:
            return None
        complete = all(inv.has("REPORT RequestId:") for inv in ours if inv.request_id)
        if complete or ctx.clock() - seen_at >= REPORT_GRACE_S or probe.remaining() <= 0:
            result.log_events = lines
            return [logs_check(probe, result, lines), invocation_check(probe, ours)]
        return None

    checks = poll(attempt, probe.remaining(), ctx.sleep, ctx.clock, PROBE)
    if checks:
        return checks
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
            "the function's role needs logs:CreateLogStream and logs:PutLogEvents on its log group",
        )
    ]


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
