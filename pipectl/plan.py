"""The Change model, the run context shared by the resource modules, and the dependency-graph
runner that executes independent steps in parallel."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from pipectl.aws import Aws, is_botocore_error, translate
from pipectl.config import Spec
from pipectl.errors import PipectlError

RESOURCE_KINDS = (
    "bucket",
    "table",
    "role",
    "log_group",
    "queue",
    "function",
    "permission",
    "trigger",
)


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DELETE = "delete"
    KEEP = "keep"
    SKIPPED = "skipped"  # not run because a step it depends on failed
    FAILED = "failed"


@dataclass(frozen=True)
class Change:
    """What happens (or would happen) to one resource. `ops` drive `apply`; `reasons` explain."""

    resource: str
    name: str
    action: Action
    reasons: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    duration_s: float | None = None

    @property
    def detail(self) -> str:
        return "; ".join(self.reasons)

    def done(self, duration_s: float) -> Change:
        return replace(self, duration_s=duration_s)

    def as_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "name": self.name,
            "action": self.action.value,
            "detail": self.detail,
        }


def change_for(
    resource: str, name: str, reasons: list[str], ops: list[str], exists: bool
) -> Change:
    """CREATE when missing, UPDATE when there are ops, else UNCHANGED."""
    if not exists:
        return Change(resource, name, Action.CREATE, tuple(reasons) or ("missing",), tuple(ops))
    if ops:
        return Change(resource, name, Action.UPDATE, tuple(reasons), tuple(ops))
    return Change(resource, name, Action.UNCHANGED)


@dataclass(frozen=True)
class Deadlines:
    """How long to keep retrying AWS's eventual-consistency errors, in seconds."""

    role_propagation: float = 120.0
    notification_validation: float = 60.0
    ready: float = 300.0


@dataclass
class Context:
    """Everything a resource module needs: the spec with names resolved, the account, the AWS seam,
    and injectable time so retries are testable without waiting."""

    aws: Aws
    spec: Spec
    region: str
    account_id: str
    role_arn: str = ""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    deadlines: Deadlines = field(default_factory=Deadlines)

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def bucket_name(self) -> str:
        assert self.spec.bucket.name, "bucket name is resolved before a Context is made"
        return self.spec.bucket.name

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket_name}"

    @property
    def table_arn(self) -> str:
        return self._arn("dynamodb", f"table/{self.spec.table.name}")

    @property
    def function_arn(self) -> str:
        return self._arn("lambda", f"function:{self.spec.function.name}")

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.spec.function.name}"

    @property
    def log_group_arn(self) -> str:
        return self._arn("logs", f"log-group:{self.log_group_name}")

    @property
    def queue_arn(self) -> str:
        return self._arn("sqs", self.spec.queue_name)

    @property
    def created_role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.spec.created_role_name}"

    @property
    def notification_id(self) -> str:
        return f"pipectl-{self.spec.pipeline}"

    @property
    def permission_sid(self) -> str:
        return f"pipectl-{self.spec.pipeline}-s3-invoke"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


@dataclass(frozen=True)
class Step:
    """One node of the graph: a callable that returns the resulting Change."""

    name: str
    run: Callable[[], Change]
    after: tuple[str, ...] = ()
    placeholder: Change | None = None  # reported when skipped


Progress = Callable[[str, str, Change | None], None]  # (step, "start"|"done", change)


@dataclass
class GraphResult:
    changes: dict[str, Change]
    errors: dict[str, PipectlError]

    @property
    def ok(self) -> bool:
        return not self.errors


def run_graph(
    steps: Mapping[str, Step], progress: Progress | None = None, workers: int = 8
) -> GraphResult:
    """Run each step once all of its `after` steps succeeded, as many at once as possible.

    A failed step's dependents are reported SKIPPED and never run. The first KeyboardInterrupt
    stops scheduling and is re-raised once running steps have finished.
    """
    pending = dict(steps)
    changes: dict[str, Change] = {}
    errors: dict[str, PipectlError] = {}
    running: dict[Future[Change], str] = {}
    started: dict[str, float] = {}
    lock = threading.Lock()

    def launch(pool: ThreadPoolExecutor) -> None:
        for name, step in list(pending.items()):
            deps = step.after
            if any(d in errors or changes.get(d, _OK).action is Action.SKIPPED for d in deps):
                del pending[name]
                changes[name] = skipped(step, deps, errors, changes)
                if progress:
                    progress(name, "done", changes[name])
                continue
            if all(d in changes for d in deps):
                del pending[name]
                started[name] = time.monotonic()
                if progress:
                    progress(name, "start", None)
                running[pool.submit(step.run)] = name

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipectl") as pool:
        launch(pool)
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                elapsed = time.monotonic() - started[name]
                try:
                    change = future.result().done(elapsed)
                except Exception as exc:
                    if not isinstance(exc, PipectlError) and not is_botocore_error(exc):
                        raise
                    error = translate(exc)
                    with lock:
                        errors[name] = error
                    change = failed(steps[name], error).done(elapsed)
                changes[name] = change
                if progress:
                    progress(name, "done", change)
            launch(pool)
        for name, step in pending.items():  # unreachable deps (cycles) never run
            changes[name] = skipped(step, step.after, errors, changes)
    return GraphResult(changes, errors)


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
