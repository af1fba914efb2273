"""`pipectl replay`'s flow: load the
config, find the on-failure queue and the function, list, confirm, replay, hand the result to the
UI. Returns exit codes; raises PipectlError for the CLI edge to print."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pipectl.context import Context
from pipectl.errors import EXIT_FAILED, EXIT_OK, AwsError, UsageError
from pipectl.replay import queue as core
from pipectl.resources import queue
from pipectl.runtime import GlobalOptions, Runtime, load_config, make_aws
from pipectl.ui import UI
from pipectl.views import replay as replay_view


def replay(
    opts: GlobalOptions,
    ui: UI,
    runtime: Runtime,
    max_messages: int | None,
    dry_run: bool,
    confirm: Callable[[str], bool] | None,
) -> int:
    """List the on-failure queue's events, then (with --yes, or once confirmed) invoke the
    function again with each; `confirm` None means --yes."""
    if max_messages is not None and max_messages < 1:
        raise UsageError(f"--max {max_messages} must be 1 or more", "e.g. --max 10")
    spec = load_config(opts)
    aws = make_aws(opts, spec, runtime, ui.aws_call)
    ctx = Context(aws, spec, aws.target.region)  # the queue and the function need no account id
    url = queue.queue_url(ctx)
    if url is None:
        return no_queue(opts, ui, ctx)
    options = core.Options(
        dry_run=dry_run, limit=max_messages, long_poll_s=runtime.timing.deadlines.queue_long_poll
    )
    if not dry_run:
        visibility = core.function_timeout(ctx) + core.VISIBILITY_MARGIN_S
        options = replace(options, visibility_s=visibility)
    on_event = None if opts.json else (lambda event: replay_view.event_line(ui, event))
    if not opts.json:
        replay_view.header(ui, spec.queue_name, dry_run)
    if confirm is not None and not dry_run:
        listed = core.run(ctx, url, replace(options, dry_run=True), on_event)
        count = listed.count(core.Outcome.LISTED)
        if not count:
            return report_replay(opts, ui, listed)
        if not confirm(f"Replay these {count} failed event(s)?"):
            ui.info("cancelled: nothing was replayed")
            if opts.json:
                ui.document({**listed.as_json(), "ok": False, "cancelled": True})
            return EXIT_FAILED
        options = replace(options, only=frozenset(e.message_id for e in listed.events))
    return report_replay(opts, ui, core.run(ctx, url, options, on_event))


def report_replay(opts: GlobalOptions, ui: UI, result: Any) -> int:
    if opts.json:
        ui.document(result.as_json())
    else:
        replay_view.summary(ui, result)
    return EXIT_OK if result.ok else EXIT_FAILED


def no_queue(opts: GlobalOptions, ui: UI, ctx: Context) -> int:
    """A configured queue that is missing is a failure; an unconfigured one is nothing to do."""
    name = ctx.spec.queue_name
    if ctx.spec.function.on_failure_queue:
        raise AwsError(f"the on-failure queue {name} does not exist", "run `pipectl up`")
    ui.info(f"no on-failure queue ({name}): function.on_failure_queue is false, nothing to replay")
    if opts.json:
        empty = {"messages": 0, "replayed": 0, "failed": 0, "foreign": 0, "remaining": 0}
        ui.document({"ok": True, "dry_run": False, "queue": name, **empty, "events": []})
    return EXIT_OK
