"""The contract between `pipeline.py` and the resource modules.

Each module in `pipectl/resources/` is a `Resource`: it declares its `KIND`, an `Op` enum (what
`apply`/`destroy` may do, each member naming the AWS calls it makes) and a state class deriving
from `ResourceState`, and it implements five functions. All AWS reads happen in `read`; `plan` and
`plan_destroy` are pure functions of the context and what was read, so `status` can reuse `plan`
for drift and `--dry-run` can show the exact calls. Whatever a step needs (the package, whether to
read tags or contents, whether data may be deleted) travels in the `Context`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from pipectl.context import Context
from pipectl.plan import Change, Op
from pipectl.resources.common import owned

S = TypeVar("S", bound="ResourceState")


@dataclass(frozen=True)
class ResourceState:
    """What `read` found: the identifying `name`, whether it `exists`, and its tags when they
    were read (`ctx.with_tags`), else None. `changed_at` is when AWS says it was created or last
    changed, where the read tells (epoch seconds); `recorded` is set by the pipeline when
    pipectl's ledger says pipectl created it (ledger.py). Subclasses add their fields
    (keyword-only)."""

    name: str
    exists: bool
    tags: dict[str, str] | None = None
    changed_at: float | None = None
    recorded: bool = False

    @property
    def failed_events(self) -> int | None:
        """Failed events waiting to be replayed: only the on-failure queue holds any (it
        overrides this); None elsewhere, which `status` shows as not applicable."""
        return None

    def managed(self, pipeline: str) -> bool:
        """pipectl's own: it carries both of pipectl's tags for this pipeline, or pipectl's
        ledger records creating it (tags can be lost in a delete that failed half-way)."""
        return self.exists and (owned(self.tags, pipeline) or self.recorded)


class Resource(Protocol[S]):
    """What every resource module provides (modules satisfy this protocol structurally).

    A module may also declare `LATE_OPS`: ops its dependents on the way up need not wait for
    (the role's PutRolePolicy: a function can name the role while its policy is put). `up` cuts a
    change before its trailing late ops, unblocks the dependents once the part before is done and
    runs the late ops meanwhile; the step still fails if one of them fails. An op not listed
    (any op added later, too) is waited for: the safe default.
    """

    KIND: str
    Op: type[Op]

    def read(self, ctx: Context) -> S: ...

    def plan(self, ctx: Context, state: S) -> Change: ...

    def apply(self, ctx: Context, state: S, change: Change) -> Change: ...

    def plan_destroy(self, ctx: Context, state: S) -> Change: ...

    def destroy(self, ctx: Context, state: S, change: Change) -> Change: ...
