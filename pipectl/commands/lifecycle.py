"""`up`, `status` and `down`: load and validate input, connect, plan, apply, report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipectl import pipeline
from pipectl.commands.common import deployment_package, literal, remember, report_run, start
from pipectl.context import Context
from pipectl.errors import EXIT_FAILED, EXIT_OK
from pipectl.plan import Action, Change
from pipectl.runtime import GlobalOptions, Runtime, load_config, with_role_flags
from pipectl.ui import UI, changes_document


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
    observed = pipeline.observe(ctx, meanwhile=ui.get_ready)
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


def status(opts: GlobalOptions, ui: UI, runtime: Runtime) -> int:
    spec = load_config(opts)
    package = deployment_package(opts, ui, runtime, spec)
    ctx = start(opts, ui, runtime, spec, with_tags=True, missing_role_ok=True)
    ctx.package = package
    rows = pipeline.status(ctx, pipeline.observe(ctx, meanwhile=ui.get_ready))
    in_sync = all(row.in_sync for row in rows)
    if opts.json:
        ui.document({"in_sync": in_sync, "resources": [r.as_json() for r in rows]})
    else:
        from pipectl.views import status as status_view

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
    observed = pipeline.observe(ctx, meanwhile=ui.get_ready)
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
    with_data = [  # a kept bucket may still lose pipectl's own leftovers (an UPDATE)
        c
        for c in changes
        if c.action in {Action.KEEP, Action.UPDATE} and "--delete-data" in c.detail
    ]
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
