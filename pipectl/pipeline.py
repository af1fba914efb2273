"""The whole pipeline: resolve the account and names, read every resource (in parallel), then plan
and run `up`, `down` or `status` as a dependency graph over the registry's resources. Nothing here
knows one kind from another: what differs lives in the resource modules and the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipectl.aws import Aws
from pipectl.config import Spec
from pipectl.context import Context, Deadlines, Timing
from pipectl.errors import PipectlError
from pipectl.plan import Action, Change, GraphResult, Progress, Step, run_graph
from pipectl.resources import role
from pipectl.resources.common import parallel_reads
from pipectl.resources.registry import KINDS, Kind

__all__ = ["Deadlines", "Timing", "connect", "observe", "up", "down", "status"]


@dataclass
class Observed:
    """The actual state of every resource read, keyed by kind."""

    states: dict[str, Any]

    def __getitem__(self, kind: str) -> Any:
        return self.states[kind]


@dataclass
class RunResult:
    changes: list[Change]
    errors: dict[str, PipectlError]

    @property
    def ok(self) -> bool:
        return not self.errors


def connect(
    aws: Aws,
    spec: Spec,
    region: str,
    timing: Timing | None = None,
    with_tags: bool = False,
    missing_role_ok: bool = False,
    teardown: bool = False,
) -> tuple[Context, Any]:
    """Find the role first: its ARN carries the account id, which names the default bucket. Only
    when no role is found does this cost an extra STS call. `status` and `down` pass
    `missing_role_ok`: a configured existing role that is gone is then reported, not an error."""
    ctx = Context(
        aws, spec, region, timing=timing or Timing(), with_tags=with_tags, teardown=teardown
    )
    located = role.locate(ctx, missing_ok=missing_role_ok)
    ctx.account_id = located.account_id or aws.account_id()
    if not spec.bucket.name:
        ctx.spec = spec.with_bucket_name(spec.default_bucket_name(ctx.account_id, region))
    ctx.role_arn = located.arn or f"arn:{ctx.partition}:iam::{ctx.account_id}:role/{located.name}"
    ctx.located_role = located
    return ctx, located


def kinds_in(ctx: Context) -> list[Kind]:
    """The resources of this pipeline; a teardown also looks at unconfigured ones it may own."""
    return [k for k in KINDS if ctx.teardown or k.configured(ctx.spec)]


def observe(ctx: Context) -> Observed:
    """Read every resource side by side (the notification does not wait for the bucket: a missing
    bucket answers NoSuchBucket)."""
    readers = {kind.name: (lambda kind=kind: kind.module.read(ctx)) for kind in kinds_in(ctx)}
    return Observed(parallel_reads(readers))


def plan_up(ctx: Context, observed: Observed) -> dict[str, Change]:
    """What `up` would do, per resource. A plan that cannot be carried out is refused here,
    before anything changes."""
    plans = {kind.name: kind.module.plan(ctx, observed[kind.name]) for kind in kinds_in(ctx)}
    problem = next((c.problem for c in plans.values() if c.problem is not None), None)
    if problem is not None:
        raise problem
    return plans


def up(ctx: Context, observed: Observed, progress: Progress | None = None) -> RunResult:
    plans = plan_up(ctx, observed)
    kinds = [k for k in KINDS if k.name in plans]

    def applier(kind: Kind) -> Callable[[], Change]:
        state, change = observed[kind.name], plans[kind.name]
        return lambda: kind.module.apply(ctx, state, change)

    steps = {
        k.name: Step(
            k.name, applier(k), edges((*k.after_up, *k.also_after_up(ctx)), plans), plans[k.name]
        )
        for k in kinds
    }
    return ordered(run_graph(steps, progress), plans)


def plan_down(ctx: Context, observed: Observed) -> dict[str, Change]:
    """What `down` removes, keeps and leaves alone, in teardown order. An unconfigured resource
    that does not exist is left out, as `up` leaves it out."""
    return {
        kind.name: kind.module.plan_destroy(ctx, observed[kind.name])
        for kind in reversed(KINDS)
        if kind.configured(ctx.spec) or observed[kind.name].exists
    }


def down(
    ctx: Context, observed: Observed, plans: dict[str, Change], progress: Progress | None = None
) -> RunResult:
    kinds = [k for k in reversed(KINDS) if k.name in plans]

    def destroyer(kind: Kind) -> Callable[[], Change]:
        state, change = observed[kind.name], plans[kind.name]
        if change.action in {Action.UNCHANGED, Action.KEEP}:
            return lambda: change
        return lambda: kind.module.destroy(ctx, state, change)

    steps = {
        k.name: Step(k.name, destroyer(k), edges(k.after_down, plans), plans[k.name]) for k in kinds
    }
    return ordered(run_graph(steps, progress), plans)


def edges(after: Iterable[str], plans: dict[str, Change]) -> tuple[str, ...]:
    """Dependencies on steps that are part of this run."""
    return tuple(d for d in after if d in plans)


def ordered(result: GraphResult, plans: dict[str, Change]) -> RunResult:
    return RunResult([result.changes[kind] for kind in plans], result.errors)


@dataclass(frozen=True)
class ResourceStatus:
    resource: str
    name: str
    exists: bool
    managed: bool
    drift: tuple[str, ...]
    failed_events: int | None = None  # the on-failure queue's waiting events; None elsewhere

    def as_json(self) -> dict[str, Any]:
        """Every row has the same keys: `failed_events` is null where it does not apply."""
        return {
            "resource": self.resource,
            "name": self.name,
            "exists": self.exists,
            "managed": self.managed,
            "drift": list(self.drift),
            "failed_events": self.failed_events,
        }


def status(ctx: Context, observed: Observed) -> list[ResourceStatus]:
    rows = []
    for kind in KINDS:
        if not kind.configured(ctx.spec):
            continue
        state = observed[kind.name]
        rows.append(
            ResourceStatus(
                kind.name,
                state.name,
                state.exists,
                state.managed(ctx.spec.pipeline),
                drift_of(ctx, kind, state),
                getattr(state, "failed_events", None),
            )
        )
    return rows


def drift_of(ctx: Context, kind: Kind, state: Any) -> tuple[str, ...]:
    """`up`'s plan, read as drift: its reasons, or the problem that blocks it."""
    if not state.exists:
        return (f"{kind.name.replace('_', ' ')} missing",)
    change = kind.module.plan(ctx, state)
    if change.problem is not None:
        return (change.problem.message,)
    return change.reasons if change.action is not Action.UNCHANGED else ()
