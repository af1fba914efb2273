"""`pipectl verify`: prove the pipeline works end to end; when it does not, say which link broke.

1. Preflight, from the observed states: bucket, pipectl's notification entry, the permission that
   lets S3 invoke the function, the function Active, the table. All are checked and reported; if
   any fails nothing is uploaded (a probe could only time out, telling less than the check does).
2. Probe: upload an object whose key holds a space, a `+` and a non-ASCII letter (S3 URL-encodes
   event keys, aws-notes item 6), poll the table with consistent reads until the item for the
   decoded key is `Processed`, then find the invocation's log lines.
   Failed events waiting in the on-failure queue are a warning, not a failure.
3. Clean up the probe object and item (unless `keep`), whatever happened.

No rendering here: checks go to an `on_check` callback as they finish and the result is data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pipectl.context import Context
from pipectl.invocations import Invocation, invocations
from pipectl.verify.preflight import preflight, warnings
from pipectl.verify.probe import Probe, clean_up, encoded_keys, key_forms, probe_key
from pipectl.verify.result import Check, OnCheck, VerifyResult
from pipectl.verify.wait import wait_for_item, wait_for_logs

__all__ = [
    "Check",
    "Invocation",
    "VerifyResult",
    "encoded_keys",
    "invocations",
    "key_forms",
    "preflight",
    "run",
]


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
    result.warnings = warnings(ctx, observed)
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
