"""`verify`, `logs` and `stats`: watching a running pipeline."""

from __future__ import annotations

from typing import Any

from pipectl import pipeline
from pipectl.commands.common import start
from pipectl.context import Context
from pipectl.errors import EXIT_FAILED, EXIT_OK
from pipectl.runtime import GlobalOptions, Runtime, load_config, make_aws
from pipectl.ui import UI


def verify(opts: GlobalOptions, ui: UI, runtime: Runtime, timeout: float, keep: bool) -> int:
    """Preflight every link, then follow a probe object through S3 -> Lambda -> DynamoDB -> logs."""
    import math

    from pipectl import verify as verify_core
    from pipectl.errors import UsageError
    from pipectl.views import watch as watch_view

    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--timeout {timeout:g} must be more than 0 seconds", "e.g. --timeout 60")
    spec = load_config(opts)
    ctx = start(opts, ui, runtime, spec)
    observed = pipeline.observe(ctx, meanwhile=ui.get_ready)
    if not opts.json:
        watch_view.verify_header(ui, ctx, timeout)
    on_check = None if opts.json else (lambda check: watch_view.check_line(ui, check))
    result = verify_core.run(ctx, observed, timeout, keep=keep, on_check=on_check)
    if opts.json:
        ui.document(result.as_json())
    else:
        watch_view.render_verify(ui, result)
    return EXIT_OK if result.ok else EXIT_FAILED


def logs(
    opts: GlobalOptions,
    ui: UI,
    runtime: Runtime,
    since: str,
    follow: bool,
    filter_pattern: str | None,
) -> int:
    """The function's log events since --since; with --follow, until Ctrl-C (which exits 0)."""
    import time

    from pipectl import logs as logs_core
    from pipectl.views import watch as watch_view

    spec = load_config(opts)
    start_ms = logs_core.parse_since(since, time.time())  # bad input fails before any AWS call
    aws = make_aws(opts, spec, runtime, ui.aws_call)
    ctx = Context(aws, spec, aws.target.region)  # the log group's name needs no account
    group, client = ctx.log_group_name, aws.client("logs")
    emit = watch_view.event_printer(ui, json_lines=opts.json)
    no_logs = f"no logs yet: log group {group} does not exist (the function has not run yet)"
    if not follow:
        try:
            count = logs_core.read(client, group, start_ms, emit, filter_pattern)
        except logs_core.LogGroupMissing:
            ui.info(no_logs)
            return EXIT_OK
        if count == 0:
            ui.info(f"no log events in {group} since {since}")
        return EXIT_OK
    if not opts.json:
        ui.info(f"[dim]following {group} (times in UTC); Ctrl-C to stop[/]")
    try:
        logs_core.follow(
            client,
            group,
            start_ms,
            emit,
            sleep=runtime.timing.sleep,
            filter_pattern=filter_pattern,
            on_missing=lambda: ui.info(no_logs + "; waiting for it"),
        )
    except KeyboardInterrupt:
        return EXIT_OK  # Ctrl-C is how --follow is meant to end
    return EXIT_OK


WATCH_INTERVAL_S = {"log-events": 10.0, "logs-insights": 60.0}  # Insights costs per query


def stats(opts: GlobalOptions, ui: UI, runtime: Runtime, since: str, watch: bool) -> int:
    """Invocations, errors, latency, cost for the window --since; with --watch, until Ctrl-C."""
    import time

    from pipectl import logs as logs_core
    from pipectl.errors import UsageError
    from pipectl.stats import read as stats_read
    from pipectl.views import stats as stats_view

    if watch and opts.json:
        raise UsageError(
            "--watch redraws a screen and --json prints one document", "pass only one of them"
        )
    spec = load_config(opts)
    logs_core.parse_since(since, time.time())  # bad input fails before any AWS call
    aws = make_aws(opts, spec, runtime, ui.aws_call)
    timing = runtime.timing
    ctx = Context(aws, spec, aws.target.region, timing=timing)  # no account id needed

    def refresh() -> Any:
        now = time.time()
        return stats_read.collect(ctx, logs_core.parse_since(since, now), int(now * 1000))

    if not watch:
        result = refresh()
        if opts.json:
            ui.document(result.as_json())
        else:
            stats_view.render(ui, result, since)
        return EXIT_OK
    first = [refresh()]  # read once to learn the path, which sets the refresh interval
    interval = WATCH_INTERVAL_S.get(first[0].source, 10.0)
    try:
        stats_view.watch(
            ui, lambda: first.pop() if first else refresh(), since, timing.sleep, interval
        )
    except KeyboardInterrupt:
        return EXIT_OK  # Ctrl-C is how --watch is meant to end
    return EXIT_OK
