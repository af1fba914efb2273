"""The whole pipeline: resolve the account and names, read every resource (in parallel), then plan
and run `up`, `down` or `status` as a dependency graph over the resource modules."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipectl import packaging
from pipectl.aws import Aws
from pipectl.config import Spec
from pipectl.errors import PipectlError
from pipectl.plan import (
    Action,
    Change,
    Context,
    Deadlines,
    GraphResult,
    Progress,
    Step,
    run_graph,
)
from pipectl.resources import bucket, function, log_group, permission, queue, role, table, trigger
from pipectl.resources.common import owned, parallel_reads

MODULES: dict[str, Any] = {
    "bucket": bucket,
    "table": table,
    "role": role,
    "log_group": log_group,
    "queue": queue,
    "function": function,
    "permission": permission,
    "trigger": trigger,
}
UP_ORDER = ("bucket", "table", "role", "log_group", "queue", "function", "permission", "trigger")
UP_AFTER = {
    "function": ("role", "log_group", "queue"),
    "permission": ("function",),
    "trigger": ("permission", "bucket"),
}
DOWN_ORDER = ("trigger", "permission", "function", "log_group", "queue", "role", "table", "bucket")
DOWN_AFTER = {
    "permission": ("trigger",),
    "function": ("permission",),
    "log_group": ("function",),
    "queue": ("function",),
    "role": ("function",),
    "table": ("function",),  # no event in flight may find its table gone
    "bucket": ("trigger",),
}


@dataclass
class Timing:
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    deadlines: Deadlines = field(default_factory=Deadlines)


@dataclass
class Observed:
    """The actual state of every resource, keyed by kind."""

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
) -> tuple[Context, Any]:
    """Find the role first: its ARN carries the account id, which names the default bucket. Only
    when no role is found does this cost an extra STS call. `status` and `down` pass
    `missing_role_ok`: a configured existing role that is gone is then reported, not an error."""
    timing = timing or Timing()
    probe = Context(
        aws,
        spec,
        region,
        account_id="",
        sleep=timing.sleep,
        clock=timing.clock,
        deadlines=timing.deadlines,
    )
    role_state = role.read(probe, with_tags=with_tags, missing_ok=missing_role_ok)
    account_id = role_state.account_id or aws.account_id()
    if not spec.bucket.name:
        spec = spec.with_bucket_name(spec.default_bucket_name(account_id, region))
    ctx = Context(
        aws,
        spec,
        region,
        account_id,
        sleep=timing.sleep,
        clock=timing.clock,
        deadlines=timing.deadlines,
    )
    ctx.role_arn = role_state.arn or f"arn:{ctx.partition}:iam::{account_id}:role/{role_state.name}"
    return ctx, role_state


def observe(
    ctx: Context, role_state: Any, with_tags: bool = False, all_kinds: bool = False
) -> Observed:
    """Read every resource side by side: the notification does not wait for the bucket (a
    missing bucket answers NoSuchBucket), and a created role's policy is read here too. The queue
    is read only when configured (or for teardown)."""
    readers: dict[str, Callable[[], Any]] = {
        "role": lambda: role.read_details(ctx, role_state, with_tags),
        "bucket": lambda: bucket.read(ctx, with_tags),
        "trigger": lambda: trigger.read(ctx),
        "table": lambda: table.read(ctx, with_tags),
        "log_group": lambda: log_group.read(ctx, with_tags),
        "function": lambda: function.read(ctx, with_tags),
        "permission": lambda: permission.read(ctx),
    }
    if ctx.spec.function.on_failure_queue or all_kinds:
        readers["queue"] = lambda: queue.read(ctx, with_tags)
    values = parallel_reads(readers)
    states = dict(values)
    if "queue" not in states:
        states["queue"] = queue.QueueState(ctx.spec.queue_name, exists=False)
    return Observed(states)


def plan_up(ctx: Context, observed: Observed, package: packaging.Package) -> dict[str, Change]:
    plans = {}
    for kind in UP_ORDER:
        if kind == "queue" and not ctx.spec.function.on_failure_queue:
            continue
        module = MODULES[kind]
        if kind == "function":
            plans[kind] = module.plan(ctx, observed[kind], package)
        else:
            plans[kind] = module.plan(ctx, observed[kind])
    return plans


def up(
    ctx: Context, observed: Observed, package: packaging.Package, progress: Progress | None = None
) -> RunResult:
    plans = plan_up(ctx, observed, package)

    def applier(kind: str) -> Callable[[], Change]:
        module, state, change = MODULES[kind], observed[kind], plans[kind]
        if kind == "function":
            return lambda: module.apply(ctx, state, change, package)
        return lambda: module.apply(ctx, state, change)

    steps = {
        kind: Step(
            kind, applier(kind), tuple(d for d in UP_AFTER.get(kind, ()) if d in plans), plans[kind]
        )
        for kind in plans
    }
    return ordered(run_graph(steps, progress), plans)


def plan_down(ctx: Context, observed: Observed, delete_data: bool) -> dict[str, Change]:
    """What `down` removes, keeps and leaves alone, in teardown order. An unconfigured queue that
    does not exist is left out, as `up` leaves it out."""
    return {
        kind: MODULES[kind].plan_destroy(ctx, observed[kind], delete_data)
        for kind in DOWN_ORDER
        if kind != "queue" or ctx.spec.function.on_failure_queue or observed[kind].exists
    }


def down(
    ctx: Context, observed: Observed, plans: dict[str, Change], progress: Progress | None = None
) -> RunResult:
    def destroyer(kind: str) -> Callable[[], Change]:
        module, state, change = MODULES[kind], observed[kind], plans[kind]
        if change.action in {Action.UNCHANGED, Action.KEEP}:
            return lambda: change
        return lambda: module.destroy(ctx, state, change)

    def after(kind: str) -> tuple[str, ...]:
        return tuple(d for d in DOWN_AFTER.get(kind, ()) if d in plans)

    steps = {kind: Step(kind, destroyer(kind), after(kind), plans[kind]) for kind in plans}
    return ordered(run_graph(steps, progress), plans)


def ordered(result: GraphResult, plans: dict[str, Change]) -> RunResult:
    return RunResult([result.changes[kind] for kind in plans], result.errors)


@dataclass(frozen=True)
class ResourceStatus:
    resource: str
    name: str
    exists: bool
    managed: bool
    drift: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "name": self.name,
            "exists": self.exists,
            "managed": self.managed,
            "drift": list(self.drift),
        }


def status(ctx: Context, observed: Observed, package: packaging.Package) -> list[ResourceStatus]:
    rows = []
    for kind in UP_ORDER:
        if kind == "queue" and not ctx.spec.function.on_failure_queue:
            continue
        state = observed[kind]
        rows.append(
            ResourceStatus(
                kind,
                display_name(kind, state),
                state.exists,
                is_managed(ctx, kind, state),
                drift_of(ctx, kind, state, package),
            )
        )
    return rows


def display_name(kind: str, state: Any) -> str:
    return getattr(state, "name", None) or getattr(state, "sid", None) or getattr(state, "id", "")


def is_managed(ctx: Context, kind: str, state: Any) -> bool:
    """Permission and trigger are pipectl's own entries (found by their fixed ids)."""
    if not state.exists:
        return False
    if kind in {"permission", "trigger"}:
        return True
    if kind == "role" and state.adopted:
        return False
    return owned(getattr(state, "tags", None), ctx.spec.pipeline)


def drift_of(ctx: Context, kind: str, state: Any, package: packaging.Package) -> tuple[str, ...]:
    if not state.exists:
        return (f"{kind.replace('_', ' ')} missing",)
    try:
        change = plan_one(ctx, kind, state, package)
    except PipectlError as exc:
        return (exc.message,)
    return change.reasons if change.action is not Action.UNCHANGED else ()


def plan_one(ctx: Context, kind: str, state: Any, package: packaging.Package) -> Change:
    if kind == "function":
        return function.plan(ctx, state, package)
    return MODULES[kind].plan(ctx, state)
