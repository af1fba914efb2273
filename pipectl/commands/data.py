"""The flows of the commands that work on the data of a running pipeline: `backfill` (send the
objects already in the bucket through the function) and `results` (the table's items). Bad
flags are refused before any AWS call; the work lives in pipectl/backfill/ and results.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pipectl.context import Context
from pipectl.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from pipectl.runtime import GlobalOptions, Runtime, load_config, make_aws

Confirm = Callable[[str], bool]


def data_context(opts: GlobalOptions, ui: Any, runtime: Runtime, spec: Any) -> Context:
    """A context with the bucket's name resolved (its default name holds the account id: one
    STS call then). No role lookup: these commands use what `up` made, never create anything."""
    aws = make_aws(opts, spec, runtime, ui.aws_call)
    ctx = Context(aws, spec, aws.target.region, timing=runtime.timing)
    if not spec.bucket.name:
        ctx.account_id = aws.account_id()
        ctx.spec = spec.with_bucket_name(spec.default_bucket_name(ctx.account_id, ctx.region))
    return ctx


def backfill_options(
    prefix: str,
    since: str | None,
    everything: bool,
    batch_size: int,
    concurrency: int,
    dry_run: bool,
    spec: Any,
) -> Any:
    """The flags as backfill Options, or a UsageError (exit 2, before any AWS call)."""
    from pipectl.backfill import listing
    from pipectl.backfill.run import MAX_BATCH_SIZE, MAX_CONCURRENCY, Options
    from pipectl.logs import parse_since

    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise UsageError(
            f"--batch-size {batch_size} is out of range: records per invocation are 1 to "
            f"{MAX_BATCH_SIZE}",
            "e.g. --batch-size 100 (the default)",
        )
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"--concurrency {concurrency} is out of range: 1 to {MAX_CONCURRENCY} invocations "
            "in flight",
            "e.g. --concurrency 8 (the default)",
        )
    since_ms = parse_since(since, time.time()) if since else None
    selection = listing.Selection(
        prefix=prefix,
        trigger_prefix=spec.trigger.prefix,
        trigger_suffix=spec.trigger.suffix,
        since_ms=since_ms,
    )
    return Options(
        selection=selection,
        everything=everything,
        batch_size=batch_size,
        concurrency=concurrency,
        dry_run=dry_run,
    )


def backfill(
    opts: GlobalOptions,
    ui: Any,
    runtime: Runtime,
    prefix: str,
    since: str | None,
    everything: bool,
    batch_size: int,
    concurrency: int,
    dry_run: bool,
    confirm: Confirm | None,
    can_ask: bool,
) -> int:
    """`confirm` asks the user; None means --yes. Without a terminal to ask on (`can_ask`
    False) a real run needs --yes, refused before any AWS call as `down` does."""
    from pipectl.backfill import preflight, records
    from pipectl.backfill.run import Backfill, Result, Tally
    from pipectl.views import backfill as backfill_view

    spec = load_config(opts)
    options = backfill_options(prefix, since, everything, batch_size, concurrency, dry_run, spec)
    if confirm is not None and not dry_run and not can_ask:
        raise UsageError("backfill needs confirmation but there is no terminal", "pass --yes")
    ctx = data_context(opts, ui, runtime, spec)
    target = preflight.find_target(ctx)
    run_id = records.new_run_id()
    if options.selection.listing_prefix() is None:
        ui.warn(
            f"--prefix {prefix!r} is outside the trigger's prefix {spec.trigger.prefix!r}: "
            "S3 would invoke the function for none of those objects, so none is sent"
        )
    if not opts.json:
        backfill_view.header(ui, target, options, run_id)
    if confirm is not None and not dry_run and not confirm(backfill_view.prompt(target, options)):
        ui.info("cancelled: nothing was sent")
        if opts.json:  # every field a script reads, as for a run that sent nothing
            ui.document(Result(run_id, Tally(), dry_run, cancelled=True).as_json())
        return EXIT_FAILED
    with backfill_view.LiveProgress(ui) as progress:
        job = Backfill(ctx.aws, target, options, ctx.timing, run_id, progress.update)
        result = job.run()
    if opts.json:
        ui.document(result.as_json())
    else:
        backfill_view.summary(ui, result, everything)
    if result.stopped_by is not None:
        ui.error(result.stopped_by)
    if opts.json and (result.interrupted or result.stopped_by is not None):
        ui.info(backfill_view.resume_note(result, everything))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED


def results(opts: GlobalOptions, ui: Any, runtime: Runtime, prefix: str, limit: int) -> int:
    from pipectl import results as results_core
    from pipectl.context import Context
    from pipectl.views import results as results_view

    if limit < 1:
        raise UsageError(f"--limit {limit} must be 1 or more", "e.g. --limit 20 (the default)")
    spec = load_config(opts)
    aws = make_aws(opts, spec, runtime, ui.aws_call)
    ctx = Context(aws, spec, aws.target.region)  # the table's name needs no account
    table, key = spec.table.name, spec.table.partition_key
    found = results_core.read(ctx.client("dynamodb"), table, key, prefix, limit)
    if opts.json:
        ui.document(found.as_json())
    else:
        results_view.render(ui, found, table, key, limit)
    return EXIT_OK
