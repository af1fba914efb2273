"""The resources of a pipeline, in the order `up` converges them: the only list of kinds.

Each entry names the module implementing the `Resource` contract (see base.py), what it waits for
on the way up and on the way down (`down` runs the same graph with its own edges), when it is
part of the pipeline at all, and what it lives in (`lives_in`: when that resource is recreated,
this one is planned as missing, since it goes with it). Adding a resource means one module and
one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipectl.config.model import Spec
from pipectl.context import Context
from pipectl.resources import bucket, function, log_group, permission, queue, role, table, trigger


def always(spec: Spec) -> bool:
    return True


def on_failure_queue(spec: Spec) -> bool:
    return spec.function.on_failure_queue


def no_edges(ctx: Context) -> tuple[str, ...]:
    return ()


def when_code_goes_through_the_bucket(ctx: Context) -> tuple[str, ...]:
    """A package too big for the request is put in the pipeline's bucket first (function.py)."""
    package = ctx.package
    return ("bucket",) if package is not None and not package.fits_direct_upload else ()


@dataclass(frozen=True)
class Kind:
    name: str
    module: Any  # a module satisfying base.Resource
    after_up: tuple[str, ...] = ()
    after_down: tuple[str, ...] = ()
    configured: Callable[[Spec], bool] = always
    # Edges that depend on the run. Such a step waits for the whole of those steps, their
    # LATE_OPS aside: a package uploaded to the bucket needs its versioning settled, which
    # decides how the upload is deleted afterwards (function.code_source).
    also_after_up: Callable[[Context], tuple[str, ...]] = no_edges
    lives_in: str | None = None

    @property
    def late_ops(self) -> frozenset[Any]:
        """The ops of this resource that its dependents on the way up need not wait for: the
        module's `LATE_OPS` (e.g. the role's PutRolePolicy), else none."""
        return frozenset(getattr(self.module, "LATE_OPS", ()))

    @property
    def chained_read_client(self) -> str | None:
        """The client of a read that is two calls one after the other (the module's
        `CHAINED_READ_CLIENT`, e.g. the queue's), else None: `observe` starts such reads first."""
        return getattr(self.module, "CHAINED_READ_CLIENT", None)


KINDS: tuple[Kind, ...] = (
    Kind("bucket", bucket, after_down=("trigger",)),
    Kind("table", table, after_down=("function",)),  # no event in flight may find it gone
    Kind("role", role, after_down=("function",)),
    Kind("log_group", log_group, after_down=("function",)),
    Kind("queue", queue, after_down=("function",), configured=on_failure_queue),
    Kind(
        "function",
        function,
        after_up=("role", "log_group", "queue"),
        after_down=("permission",),
        also_after_up=when_code_goes_through_the_bucket,
    ),
    Kind(
        "permission",
        permission,
        after_up=("function",),
        after_down=("trigger",),
        lives_in="function",  # a statement in the function's resource policy
    ),
    Kind("trigger", trigger, after_up=("permission", "bucket")),
)
