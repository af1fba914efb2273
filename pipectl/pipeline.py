"""The whole pipeline: resolve the account and names, read every resource (in parallel), then plan
and run `up`, `down` or `status` as a dependency graph over the registry's resources. Nothing here
knows one kind from another: what differs lives in the resource modules and the registry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipectl.aws import Aws
from pipectl.config.model import Spec
from pipectl.context import Context, Deadlines, Timing
from pipectl.errors import PipectlError
from pipectl.plan import Action, Change, GraphResult, Progress, Step, run_graph
from pipectl.resources import role
from pipectl.resources.common import parallel_reads
from pipectl.resources.registry import KINDS, Kind

__all__ = [
    "Deadlines",
    "Timing",
    "begin",
    "connect",
    "observe",
    "remember",
    "up",
    "down",
    "status",
]


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
    home: Path | None = None,
) -> tuple[Context, Any]:
    """`begin`, then wait for the account and the role: (ctx, the located role)."""
    ctx = begin(aws, spec, region, timing, with_tags, missing_role_ok, teardown, home)
    return ctx, ctx.located_role


def begin(
    aws: Aws,
    spec: Spec,
    region: str,
    timing: Timing | None = None,
    with_tags: bool = False,
    missing_role_ok: bool = False,
    teardown: bool = False,
    home: Path | None = None,
) -> Context:
    """A Context whose account id and role are being found in a background thread, so that
    `observe` can send every read that needs neither in the same round trip as the role lookup.
    `status` and `down` pass `missing_role_ok`: a configured existing role that is gone is then
    reported, not an error. With `home` (pipectl's folder) the context has this pipeline's
    ledger."""
    ctx = Context(
        aws,
        spec,
        region,
        timing=timing or Timing(),
        with_tags=with_tags,
        teardown=teardown,
        home=home,
    )
    finder = threading.Thread(
        target=find_identity, args=(ctx, missing_role_ok), name="pipectl-identity", daemon=True
    )
    ctx.identity.pending(finder)
    finder.start()
    return ctx


def find_identity(ctx: Context, missing_role_ok: bool) -> None:
    """The role's ARN carries the account id, which names the default bucket. Unless the role is
    named (`role.mode: existing`, where GetRole answers with its ARN or the run stops), STS may
    have to answer too: when no role exists yet (a first run). See `ask_sts` for when it is
    asked."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipectl-sts")
    try:
        # The role lookup leaves first; the other reads follow as soon as it has.
        iam = ctx.client("iam")
        iam.meta.events.register_first("before-send.*.*", ctx.identity.sent)
        caller = None
        if ctx.spec.role.mode != "existing":
            caller = pool.submit(ask_sts, ctx, not ctx.spec.bucket.name)
        located = None
        try:
            located = role.locate(ctx, missing_ok=missing_role_ok)
        finally:
            ctx.identity.lookup_done(sts_needed=located is not None and not located.account_id)
        account_id = located.account_id or (caller.result() if caller else ctx.aws.account_id())
        if not ctx.spec.bucket.name:
            ctx.spec = ctx.spec.with_bucket_name(
                ctx.spec.default_bucket_name(account_id, ctx.region)
            )
        arn = located.arn or f"arn:{ctx.partition}:iam::{account_id}:role/{located.name}"
        ctx.identity.resolve(account_id=account_id, role_arn=arn, located_role=located)
    except BaseException as exc:  # every waiting reader gets it; observe raises it first
        ctx.identity.fail(exc)
    finally:
        pool.shutdown()  # STS, if asked, left with the reads: no call outlives their round trip


def ask_sts(ctx: Context, reads_wait_for_it: bool) -> str | None:
    """The caller's account id from STS, or None when it was not needed.

    With the default bucket name the bucket's reads wait for the account, so STS goes as soon as
    the role lookup has left: on a first run, waiting for the lookup's answer first would cost a
    round trip. With a named bucket no read waits for it: STS goes once every read is in flight
    (its client's creation then takes no CPU from theirs) or the lookup found no role, whichever
    comes first, and not at all when the lookup found the role first (a re-run)."""
    if reads_wait_for_it:
        ctx.identity.first_request_sent.wait()
    elif not ctx.identity.sts_turn():
        return None
    return ctx.aws.account_id()


def kinds_in(ctx: Context) -> list[Kind]:
    """The resources of this pipeline. A run that reads ownership (`status`, `down`) also looks
    at unconfigured ones pipectl may own: a queue left from before `on_failure_queue: false`
    may still hold failed events."""
    return [k for k in KINDS if ctx.teardown or ctx.with_tags or k.configured(ctx.spec)]


def observe(ctx: Context, meanwhile: Callable[[], None] | None = None) -> Observed:
    """Read every resource side by side, while `begin` finds the account and the role: a read
    that needs them (the default bucket name, an ARN, the role itself) waits for them, the others
    go out at once (the notification does not wait for the bucket: a missing bucket answers
    NoSuchBucket). A read of two calls one after the other (the queue's) starts first, its client
    made before the others', so that its second call overlaps their client creation. If finding
    the account or the role failed, that is the error raised. What pipectl's ledger says it
    created is marked `recorded`. `meanwhile` runs on this thread once every read has a request
    in flight: the command's CPU work that can wait for the answers (the UI's import)."""
    kinds = kinds_in(ctx)
    chained = [kind for kind in kinds if kind.chained_read_client]
    readers = {
        kind.name: (lambda kind=kind: kind.module.read(ctx))
        for kind in (*chained, *(kind for kind in kinds if kind not in chained))
    }
    ctx.identity.first_request_sent.wait()
    try:
        for kind in chained:
            ctx.client(kind.chained_read_client)
        read = parallel_reads(readers, once_sent=lambda: all_sent(ctx, meanwhile))
    except Exception:
        if ctx.identity.error is not None:
            raise ctx.identity.error from None
        raise
    states = {kind.name: read[kind.name] for kind in kinds}
    ledger = ctx.ledger
    if ledger is not None:
        states = {
            kind: replace(state, recorded=ledger.owns(kind, state.name, state.changed_at))
            if state.exists
            else state
            for kind, state in states.items()
        }
    return Observed(states)


def all_sent(ctx: Context, meanwhile: Callable[[], None] | None) -> None:
    ctx.identity.reads_sent()
    if meanwhile is not None:
        meanwhile()


def remember(ctx: Context, observed: Observed, result: RunResult) -> None:
    """Bring the ledger up to date after `up` or `down`: record what was created (or recreated)
    and refresh what pipectl changed of its own, forget what was deleted or found missing. Raises
    OSError when it cannot be written (the run's outcome stands; ownership falls back to tags)."""
    ledger = ctx.ledger
    if ledger is None:
        return
    for kind, state in observed.states.items():
        if not state.exists:
            ledger.forget(kind, state.name)
    for change in result.changes:
        if change.action is Action.CREATE or change.replaces:
            ledger.record(change.resource, change.name)
        elif change.action is Action.UPDATE and observed[change.resource].managed(
            ctx.spec.pipeline
        ):
            ledger.record(change.resource, change.name)
        elif change.action is Action.DELETE:
            ledger.forget(change.resource, change.name)
    ledger.save()


def plan_up(ctx: Context, observed: Observed) -> dict[str, Change]:
    """What `up` would do, per resource. A plan that cannot be carried out is refused here,
    before anything changes."""
    plans = planned(ctx, observed)
    problem = next((c.problem for c in plans.values() if c.problem is not None), None)
    if problem is not None:
        raise problem
    return plans


def planned(ctx: Context, observed: Observed) -> dict[str, Change]:
    """Each resource's plan, in registry order, from the state `up` will find when it gets there
    (see `as_found`)."""
    plans: dict[str, Change] = {}
    for kind in kinds_in(ctx):
        plans[kind.name] = kind.module.plan(ctx, as_found(kind, observed, plans))
    return plans


def as_found(kind: Kind, observed: Observed, plans: dict[str, Change]) -> Any:
    """The observed state, except that a resource living in one that is being recreated (the
    permission of a function deleted and created again) will be gone by then."""
    state = observed[kind.name]
    host = plans.get(kind.lives_in) if kind.lives_in else None
    if host is not None and host.replaces and state.exists:
        return replace(state, exists=False)
    return state


def up(ctx: Context, observed: Observed, progress: Progress | None = None) -> RunResult:
    plans = plan_up(ctx, observed)
    kinds = [k for k in KINDS if k.name in plans]
    steps = {
        k.name: up_step(ctx, k, as_found(k, observed, plans), plans[k.name], plans) for k in kinds
    }
    return ordered(run_graph(steps, progress), plans)


def up_step(ctx: Context, kind: Kind, state: Any, change: Change, plans: dict[str, Change]) -> Step:
    """The step applying `change`. When the change ends with ops the kind declares late, the
    step runs in two parts: the ops before them, then the late ones while the dependents
    proceed. The second part reports the whole change, or fails the step."""
    after, whole = edges(kind.after_up, plans), edges(kind.also_after_up(ctx), plans)
    first, rest = split_ops(change, kind.late_ops)
    if not rest:
        run = lambda: kind.module.apply(ctx, state, change)  # noqa: E731
        return Step(kind.name, run, after, change, after_done=whole)

    def finish() -> Change:
        return replace(kind.module.apply(ctx, state, rest), ops=change.ops)

    def run_first() -> Change:
        return kind.module.apply(ctx, state, first) if first.ops else first

    return Step(kind.name, run_first, after, change, finish, after_done=whole)


def split_ops(change: Change, late_ops: frozenset[Any]) -> tuple[Change, Change | None]:
    """`change` cut before its trailing late ops (the order of ops is kept): the part to run
    before the dependents may start, and the late part (None when there is none)."""
    cut = len(change.ops)
    while cut and change.ops[cut - 1] in late_ops:
        cut -= 1
    if cut == len(change.ops):
        return change, None
    return replace(change, ops=change.ops[:cut]), replace(change, ops=change.ops[cut:])


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
    configured: bool = True  # False: left over from an earlier config, never drift

    def as_json(self) -> dict[str, Any]:
        """Every row has the same keys: `failed_events` is null where it does not apply."""
        return {
            "resource": self.resource,
            "name": self.name,
            "exists": self.exists,
            "managed": self.managed,
            "drift": list(self.drift),
            "failed_events": self.failed_events,
            "configured": self.configured,
        }

    @property
    def in_sync(self) -> bool:
        return not self.configured or (self.exists and not self.drift)


def status(ctx: Context, observed: Observed) -> list[ResourceStatus]:
    """A row per configured resource, and one per unconfigured resource pipectl owns that is
    still there (`up` leaves it, `down` removes it unless it holds data)."""
    rows = []
    for kind in KINDS:
        state = observed.states.get(kind.name)
        if state is None:
            continue
        managed = state.managed(ctx.spec.pipeline)
        configured = kind.configured(ctx.spec)
        if not configured and not (state.exists and managed):
            continue
        drift = drift_of(ctx, kind, state) if configured else ()
        rows.append(
            ResourceStatus(
                kind.name, state.name, state.exists, managed, drift, state.failed_events, configured
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
