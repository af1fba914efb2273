"""The Change model (what a step does, with its typed ops) and the dependency-graph runner that
executes independent steps in parallel."""

from __future__ import annotations

import enum
import queue
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from pipectl.aws import is_botocore_error, translate
from pipectl.errors import PipectlError


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DELETE = "delete"
    KEEP = "keep"
    SKIPPED = "skipped"  # not run because a step it depends on failed
    FAILED = "failed"


class Op(str, enum.Enum):
    """Base of each resource's operations (`bucket.Op`, `function.Op`, ...): a member compares
    equal to its label and carries the AWS API operations it calls, in order, so that a plan can
    say exactly what it would do. Each resource maps its members to the functions performing
    them, so a typo is an AttributeError rather than a step silently skipped."""

    calls: tuple[str, ...]

    def __new__(cls, label: str, *calls: str) -> Op:
        member = str.__new__(cls, label)
        member._value_ = label
        member.calls = calls
        return member

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Change:
    """What happens (or would happen) to one resource. `ops` drive `apply`/`destroy`; `reasons`
    explain; `problem` is set when the plan cannot be carried out (a table with another key
    schema): `up` refuses it and `status` reports it as drift. `replaces` says the resource is
    deleted and created again, so whatever lives inside it (the permission in a function's
    resource policy) must be made again too."""

    resource: str
    name: str
    action: Action
    reasons: tuple[str, ...] = ()
    ops: tuple[Op, ...] = ()
    duration_s: float | None = None
    problem: PipectlError | None = field(default=None, compare=False)
    replaces: bool = False

    @property
    def detail(self) -> str:
        return "; ".join(self.reasons)

    @property
    def calls(self) -> tuple[str, ...]:
        """The AWS API operations the ops would call, in order."""
        return tuple(call for op in self.ops for call in op.calls)

    def done(self, duration_s: float) -> Change:
        return replace(self, duration_s=duration_s)

    def as_json(self, with_calls: bool = False) -> dict[str, Any]:
        document = {
            "resource": self.resource,
            "name": self.name,
            "action": self.action.value,
            "detail": self.detail,
        }
        if with_calls:
            document["calls"] = list(self.calls)
        return document


def change_for(resource: str, name: str, reasons: list[str], ops: list[Op], exists: bool) -> Change:
    """CREATE when missing, UPDATE when there are ops, else UNCHANGED."""
    if not exists:
        return Change(resource, name, Action.CREATE, tuple(reasons) or ("missing",), tuple(ops))
    if ops:
        return Change(resource, name, Action.UPDATE, tuple(reasons), tuple(ops))
    return Change(resource, name, Action.UNCHANGED)


def change_for_drifts(resource: str, name: str, drifts: Iterable[tuple[list[str], Op]]) -> Change:
    """An existing resource's Change from (what drifted, the op that converges it) per setting:
    the op of each setting with drift, its reasons in the order given; UNCHANGED without any."""
    found = [(reasons, op) for reasons, op in drifts if reasons]
    reasons = [reason for drift, _ in found for reason in drift]
    return change_for(resource, name, reasons, [op for _, op in found], exists=True)


@dataclass(frozen=True)
class Step:
    """One node of the graph: `run` returns the resulting Change. With `finish`, the step is in
    two parts: once `run` returns, the steps that wait for this one may start, while `finish`
    (the step's remaining work) runs; `finish` returns the step's final Change, and if it fails
    the step fails like any other (dependents not yet started are skipped)."""

    name: str
    run: Callable[[], Change]
    after: tuple[str, ...] = ()
    placeholder: Change | None = None  # reported when skipped
    finish: Callable[[], Change] | None = None
    after_done: tuple[str, ...] = ()  # steps waited for whole (their `finish` included)


Progress = Callable[[str, str, Change | None], None]  # (step, "start"|"done", change)


@dataclass
class GraphResult:
    changes: dict[str, Change]
    errors: dict[str, PipectlError]

    @property
    def ok(self) -> bool:
        return not self.errors


READY, DONE, FAILED = "ready", "done", "failed"


def run_graph(
    steps: Mapping[str, Step], progress: Progress | None = None, workers: int = 8
) -> GraphResult:
    """Run each step once all of its `after` steps are ready (their `run` succeeded), as many at
    once as possible. A step is finished when its `finish` (if any) has returned too.

    A failed step's dependents that have not started are reported SKIPPED and never run. Each
    worker reports to one queue, so the scheduler wakes on a step becoming ready as on one
    ending. A KeyboardInterrupt stops scheduling and is re-raised once running steps end.
    """
    pending = dict(steps)
    changes: dict[str, Change] = {}
    errors: dict[str, PipectlError] = {}
    ready: set[str] = set()
    started: dict[str, float] = {}
    reports: queue.SimpleQueue[tuple[str, str, Any]] = queue.SimpleQueue()
    running = 0

    def work(step: Step) -> None:
        try:
            change = step.run()
            if step.finish is not None:
                reports.put((READY, step.name, None))
                change = step.finish()
            reports.put((DONE, step.name, change))
        except BaseException as exc:  # a KeyboardInterrupt or a bug is re-raised by the scheduler
            reports.put((FAILED, step.name, exc))

    def blocked(name: str) -> bool:
        return name in errors or changes.get(name, _OK).action is Action.SKIPPED

    def launch(pool: ThreadPoolExecutor) -> None:
        nonlocal running
        for name, step in list(pending.items()):
            deps = (*step.after, *step.after_done)
            if any(blocked(d) for d in deps):
                del pending[name]
                changes[name] = skipped(step, deps, errors, changes)
                if progress:
                    progress(name, "done", changes[name])
                continue
            if all(d in ready for d in step.after) and all(d in changes for d in step.after_done):
                del pending[name]
                started[name] = time.monotonic()
                if progress:
                    progress(name, "start", None)
                running += 1
                pool.submit(work, step)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipectl") as pool:
        launch(pool)
        while running:
            event, name, payload = reports.get()
            if event == READY:
                ready.add(name)
            else:
                running -= 1
                change = finished(steps[name], event, payload, errors)
                changes[name] = change.done(time.monotonic() - started[name])
                if event == DONE:
                    ready.add(name)
                if progress:
                    progress(name, "done", changes[name])
            launch(pool)
        for name, step in pending.items():  # unreachable deps (cycles) never run
            changes[name] = skipped(step, (*step.after, *step.after_done), errors, changes)
    return GraphResult(changes, errors)


def finished(step: Step, event: str, payload: Any, errors: dict[str, PipectlError]) -> Change:
    """The Change a step ended with; a failure is recorded in `errors`. An exception that is
    neither pipectl's nor botocore's is a bug: it propagates."""
    if event == DONE:
        return payload
    if not isinstance(payload, PipectlError) and not is_botocore_error(payload):
        raise payload
    error = translate(payload)
    errors[step.name] = error
    return failed(step, error)


_OK = Change("", "", Action.UNCHANGED)


def skipped(
    step: Step, deps: tuple[str, ...], errors: Mapping[str, Any], changes: Mapping[str, Change]
) -> Change:
    blocked = [d for d in deps if d in errors or changes.get(d, _OK).action is Action.SKIPPED]
    base = step.placeholder or Change(step.name, "", Action.SKIPPED)
    reason = f"not run: {', '.join(blocked) or 'a dependency'} failed"
    return replace(base, action=Action.SKIPPED, reasons=(reason,), ops=())


def failed(step: Step, exc: PipectlError) -> Change:
    base = step.placeholder or Change(step.name, "", Action.FAILED)
    return replace(base, action=Action.FAILED, reasons=(exc.message,), ops=())
