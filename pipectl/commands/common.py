"""What every command shares: the run's Context, the deployment package, the ledger update and
the report of a run. Commands return exit codes and raise PipectlError for the CLI edge to print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipectl import pipeline
from pipectl.build import packaging
from pipectl.context import Context
from pipectl.home import home_dir
from pipectl.plan import Action
from pipectl.runtime import GlobalOptions, Runtime, make_aws
from pipectl.ui import UI, changes_document


def connect(opts: GlobalOptions, ui: UI, runtime: Runtime, spec: Any) -> Context:
    """The run's Context with its account and role found (or the error finding them raised)."""
    ctx = start(opts, ui, runtime, spec)
    ctx.identity.first_request_sent.wait()
    ui.get_ready()  # while the account and the role are being found
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
    first read of either waits, so `pipeline.observe` sends every other read meanwhile (and
    then runs `ui.get_ready`, given as its `meanwhile`)."""
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
    return ctx


def remember(ui: UI, ctx: Context, observed: Any, result: pipeline.RunResult) -> None:
    """Update the ledger of what this pipeline created; a folder that cannot be written costs
    only the ledger (ownership then rests on the tags alone), so it is a warning."""
    try:
        pipeline.remember(ctx, observed, result)
    except OSError as exc:
        where = ctx.ledger.path if ctx.ledger else "PIPECTL_HOME"
        ui.warn(f"could not record what pipectl made in {where}: {exc.strerror or exc}")


def deployment_package(
    opts: GlobalOptions, ui: UI, runtime: Runtime, spec: Any
) -> packaging.Package:
    """The zip `up` deploys: for the emulator's Python with --local, else for Lambda's platform.
    Dependencies are built under $PIPECTL_HOME/deps (default ~/.pipectl/deps)."""
    from pipectl.build.dependencies import run_pip

    return packaging.build_for(
        spec.function,
        opts.local,
        pipectl_home(runtime),
        runtime.run_pip or run_pip,
        on_install=ui.info,
    )


def pipectl_home(runtime: Runtime) -> Path:
    return runtime.pipectl_home or home_dir()


def report_run(ui: UI, opts: GlobalOptions, result: pipeline.RunResult) -> None:
    """The JSON document, or the summary table followed by any failures. When nothing changed,
    one line says so: the step lines above already name every resource."""
    if opts.json:
        ui.document(changes_document(result.ok, result.changes, **failure_fields(result)))
        return
    if result.ok and all(c.action is Action.UNCHANGED for c in result.changes):
        ui.info(f"no changes: the {len(result.changes)} resources match the config")
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


def literal(text: str) -> str:
    """Text shown as is inside rich markup (what rich.markup.escape does for our strings)."""
    return text.replace("[", "\\[")
