"""Each command's flow: load and validate input, connect, call the core, hand results to the UI.
Returns exit codes; raises PipectlError for the CLI edge to print."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipectl import packaging, pipeline
from pipectl import ui as ui_module
from pipectl.context import Context
from pipectl.errors import EXIT_FAILED, EXIT_OK
from pipectl.plan import Action, Change
from pipectl.runtime import GlobalOptions, Runtime, load_config, make_aws, with_role_flags
from pipectl.ui import UI, changes_document


def connect(opts: GlobalOptions, ui: UI, runtime: Runtime, spec: Any) -> Context:
    """The run's Context with its account and role found (or the error finding them raised)."""
    ctx = start(opts, ui, runtime, spec)
    ctx.located_role  # noqa: B018 (waits for the account and the role)
    return ctx


def start(
    opts: GlobalOptions,
    ui: UI,
    runtime: Runtime,
    spec: Any,
    with_tags: bool = False,
    missing_role_ok: bool = False,
    teardown: bool = False,
) -> Context:
    """The run's Context; its account and role are still being found (`pipeline.begin`): the
    first read of either waits, so `pipeline.observe` sends every other read meanwhile."""
    from pipectl.local.server import home_dir  # standard library only: no emulator started

    aws = make_aws(opts, spec, runtime, ui.aws_call)
    ctx = pipeline.begin(
        aws,
        spec,
        aws.target.region,
        runtime.timing,
        with_tags=with_tags,
        missing_role_ok=missing_role_ok,
        teardown=teardown,
        home=runtime.pipectl_home or home_dir(),
    )
    ui_module.warm_up()  # while the first requests are in flight
    return ctx


def remember(ui: UI, ctx: Context, observed: Any, result: pipeline.RunResult) -> None:
    """Update the ledger of what this pipeline created; a folder that cannot be written costs
    only the ledger (ownership then rests on the tags alone), so it is a warning."""
    try:
        pipeline.remember(ctx, observed, result)
    except OSError as exc:
        where = ctx.ledger.path if ctx.ledger else "PIPECTL_HOME"
        ui.warn(f"could not record what pipectl made in {where}: {exc.strerror or exc}")


def up(
    opts: GlobalOptions,
    ui: UI,
    runtime: Runtime,
    dry_run: bool,
    role: str | None,
    create_role: bool,
) -> int:
    spec = with_role_flags(load_config(opts), role, create_role)
    package = deployment_package(opts, ui, runtime, spec)  # a bad handler fails before AWS
    ctx = start(opts, ui, runtime, spec)
    ctx.package = package
    observed = pipeline.observe(ctx)
    ui.info(f"[bold]pipectl up[/] {ctx.spec.pipeline} in {ctx.region} (account {ctx.account_id})")
    if dry_run:
        plans = pipeline.plan_up(ctx, observed)
        if opts.json:
            ui.document(changes_document(True, plans.values(), dry_run=True))
        else:
            ui.changes_table("plan (dry run: nothing was changed)", plans.values(), planned=True)
            if opts.verbose:
                ui.planned_calls(plans.values())
        return EXIT_OK
    result = pipeline.up(ctx, observed, progress=ui.step)
    remember(ui, ctx, observed, result)
    report_run(ui, opts, result)
    if result.ok and not opts.json:
        bucket_url = f"s3://{ctx.bucket_name}/"
        ui.info(f"[green]pipeline is up[/]: upload to {bucket_url} then run `pipectl verify`")
    return EXIT_OK if result.ok else EXIT_FAILED


def deployment_package(
    opts: GlobalOptions, ui: UI, runtime: Runtime, spec: Any
) -> packaging.Package:
    """The zip `up` deploys: for the emulator's Python with --local, else for Lambda's platform.
    Dependencies are built under $PIPECTL_HOME/deps (default ~/.pipectl/deps)."""
    from pipectl.dependencies import run_pip

    return packaging.build_for(
        spec.function,
        opts.local,
        pipectl_home(runtime),
        runtime.run_pip or run_pip,
        on_install=ui.info,
    )


def pipectl_home(runtime: Runtime) -> Path:
    from pipectl.local.server import home_dir

    return runtime.pipectl_home or home_dir()


def report_run(ui: UI, opts: GlobalOptions, result: pipeline.RunResult) -> None:
    """The JSON document, or the summary table followed by any failures."""
    if opts.json:
        ui.document(changes_document(result.ok, result.changes, **failure_fields(result)))
        return
    ui.changes_table("summary", result.changes)
    report_failures(ui, result)


def failure_fields(result: pipeline.RunResult) -> dict[str, Any]:
    if result.ok:
        return {}
    return {
        "errors": {step: {"error": e.message, "hint": e.hint} for step, e in result.errors.items()}
    }


def report_failures(ui: UI, result: pipeline.RunResult) -> None:
    for step, error in result.errors.items():
        ui.info(f"[bold red]error[/] in step [bold]{step}[/]:")
        ui.error(error)
    if result.errors:
        ui.info(
            "nothing is half-made that a second run cannot finish: fix the cause and run it again"
        )


def status(opts: GlobalOptions, ui: UI, runtime: Runtime) -> int:
    spec = load_config(opts)
    package = deployment_package(opts, ui, runtime, spec)
    ctx = start(opts, ui, runtime, spec, with_tags=True, missing_role_ok=True)
    ctx.package = package
    rows = pipeline.status(ctx, pipeline.observe(ctx))
    in_sync = all(r.exists and not r.drift for r in rows)
    if opts.json:
        ui.document({"in_sync": in_sync, "resources": [r.as_json() for r in rows]})
    else:
        from pipectl import status_view

        status_view.render(ui, ctx, rows, in_sync)
    return EXIT_OK if in_sync else EXIT_FAILED


def down(
    opts: GlobalOptions,
    ui: UI,
    runtime: Runtime,
    delete_data: bool,
    dry_run: bool,
    confirm: Callable[[str], bool] | None,
) -> int:
    """`confirm` asks the user (the CLI refuses earlier when there is no terminal to ask on);
    None means --yes."""
    spec = load_config(opts)
    ctx = start(opts, ui, runtime, spec, with_tags=True, missing_role_ok=True, teardown=True)
    ctx.delete_data = delete_data
    observed = pipeline.observe(ctx)
    ui.info(f"[bold]pipectl down[/] {ctx.spec.pipeline} in {ctx.region} (account {ctx.account_id})")
    plans = pipeline.plan_down(ctx, observed)
    work = [c for c in plans.values() if c.action in {Action.DELETE, Action.UPDATE}]
    if dry_run or not work:
        if opts.json:
            extra = {"dry_run": True} if dry_run else {}
            ui.document(changes_document(True, plans.values(), **extra))
        elif all(c.action is Action.UNCHANGED for c in plans.values()):
            ui.info(f"nothing to remove: no resource of pipeline {ctx.spec.pipeline} exists")
        else:
            title = "plan (dry run: nothing was changed)" if dry_run else "nothing to remove"
            ui.changes_table(title, plans.values(), planned=True)
            if opts.verbose:
                ui.planned_calls(plans.values())
            report_kept(ui, plans.values())
        return EXIT_OK
    if confirm is not None:
        ui.changes_table("plan", plans.values(), planned=True)
        if not confirm(confirmation_prompt(work)):
            ui.info("cancelled: nothing was removed")
            if opts.json:
                ui.document(changes_document(False, plans.values(), cancelled=True))
            return EXIT_FAILED
    result = pipeline.down(ctx, observed, plans, progress=ui.step)
    remember(ui, ctx, observed, result)
    report_run(ui, opts, result)
    if not opts.json:
        kept = report_kept(ui, result.changes)
        left = report_left(ui, ctx, result.changes)
        if result.ok:
            note = " (its data kept)" if kept else ""
            ui.info(f"[green]pipeline {ctx.spec.pipeline} is down[/]{note}{left}")
    return EXIT_OK if result.ok else EXIT_FAILED


def confirmation_prompt(work: list[Change]) -> str:
    deleted = sum(1 for c in work if c.action is Action.DELETE)
    stripped = [c for c in work if c.action is Action.UPDATE]
    parts = []
    if deleted:
        parts.append(f"delete the {deleted} resource(s) marked 'will delete'")
    for change in stripped:
        parts.append(f"remove pipectl's additions from {change.resource} {change.name}")
    text = " and ".join(parts)
    return text[0].upper() + text[1:] + "?"


def report_kept(ui: UI, changes: Any) -> list[Change]:
    """Below the table: which resources were kept for their data, and how to remove them too."""
    with_data = [c for c in changes if c.action is Action.KEEP and "--delete-data" in c.detail]
    if with_data:
        names = ", ".join(f"{c.resource} {literal(c.name)}" for c in with_data)
        ui.info(
            f"[cyan]kept for the data they hold[/]: {names}\n"
            "  to remove them too: `pipectl down --delete-data`"
        )
    return with_data


def report_left(ui: UI, ctx: Context, changes: Any) -> str:
    """Below the table: what is still there and why, besides data kept on purpose. A resource
    `down` left alone as not pipectl's is named with what that rests on, since a delete that failed
    half-way strips tags; what failed or was skipped is pipectl's and still there."""
    where = f"a record in {ctx.ledger.path}" if ctx.ledger else "a record of pipectl's"
    foreign = [c for c in changes if c.action is Action.KEEP and "--delete-data" not in c.detail]
    for change in foreign:
        ui.info(
            f"[cyan]left alone[/]: {change.resource} {literal(change.name)}: "
            f"{literal(change.detail)} (neither pipectl's tags nor {literal(where)})"
        )
    stuck = [c for c in changes if c.action in {Action.FAILED, Action.SKIPPED}]
    if stuck:
        names = ", ".join(f"{c.resource} {literal(c.name)} ({literal(c.detail)})" for c in stuck)
        ui.info(f"[red]still there[/]: {names}\n  run `pipectl down` again once fixed")
    return " except what is not pipectl's (above)" if foreign else ""


def literal(text: str) -> str:
    """Text shown as is inside rich markup (what rich.markup.escape does for our strings)."""
    return text.replace("[", "\\[")


def local_start(opts: GlobalOptions, ui: UI, runtime: Runtime, port: int | None) -> int:
    from pipectl.local import server

    info, started = server.start(port=port, home=runtime.pipectl_home)
    emit_emulator(opts, ui, info, "started" if started else "already running")
    return EXIT_OK


def local_stop(opts: GlobalOptions, ui: UI, runtime: Runtime) -> int:
    from pipectl.local import server

    info = server.stop(home=runtime.pipectl_home)
    if opts.json:
        ui.document({"ok": True, "stopped": info is not None, "pid": info.pid if info else None})
    else:
        ui.info(f"emulator stopped (pid {info.pid})" if info else "emulator was not running")
    return EXIT_OK


def local_status(opts: GlobalOptions, ui: UI, runtime: Runtime) -> int:
    from pipectl.local import server

    info = server.status(home=runtime.pipectl_home)
    if info is None:
        if opts.json:
            ui.document({"running": False})
        else:
            ui.info("emulator is not running: `pipectl local start` (or any command with --local)")
        return EXIT_FAILED
    emit_emulator(opts, ui, info, "running")
    return EXIT_OK


def emit_emulator(opts: GlobalOptions, ui: UI, info: Any, state: str) -> None:
    if opts.json:
        ui.document(
            {
                "running": True,
                "state": state,
                "pid": info.pid,
                "port": info.port,
                "endpoint_url": info.endpoint_url,
                "uptime_s": round(info.uptime_s, 1),
            }
        )
    else:
        ui.info(
            f"emulator {state} at [bold]{info.endpoint_url}[/] (pid {info.pid}, "
            f"up {format_duration(info.uptime_s)})"
        )


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def verify(opts: GlobalOptions, ui: UI, runtime: Runtime, timeout: float, keep: bool) -> int:
    """Preflight every link, then follow a probe object through S3 -> Lambda -> DynamoDB -> logs."""
    import math

    from pipectl import verify as verify_core
    from pipectl import watch_view
    from pipectl.errors import UsageError

    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--timeout {timeout:g} must be more than 0 seconds", "e.g. --timeout 60")
    spec = load_config(opts)
    ctx = start(opts, ui, runtime, spec)
    observed = pipeline.observe(ctx)
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
    from pipectl import watch_view

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
    from pipectl import stats_read, stats_view
    from pipectl.errors import UsageError

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
