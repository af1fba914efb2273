"""The run context every resource step gets: the spec with names resolved, the account, the AWS
seam, what this run reads and may do (tags, teardown, deleting data), the deployment package, and
injectable time so that retries and waits are testable without waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # kept out of the import: `pipectl --help` loads neither schema nor boto3
    from pathlib import Path

    from pipectl.aws import Aws
    from pipectl.build.packaging import Package
    from pipectl.config.model import Spec
    from pipectl.ledger import Ledger


@dataclass(frozen=True)
class Deadlines:
    """How long to keep retrying AWS's eventual-consistency errors, in seconds; and how long a
    queue receive long-polls (with 1 s or more SQS asks all its servers, so an empty answer means
    an empty queue)."""

    role_propagation: float = 120.0
    notification_validation: float = 60.0
    ready: float = 300.0
    queue_long_poll: int = 1


@dataclass
class Timing:
    """The clock, the sleep and the deadlines of a run; tests pass fake ones."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    deadlines: Deadlines = field(default_factory=Deadlines)


class Identity:
    """The account id and the function's role of a run. `pipeline.begin` finds them in the
    background while the reads that need neither already go out; reading one waits until they
    are known (and raises what finding them raised). A Context nobody resolves has them empty
    at once, so a command that needs no account never waits."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {"account_id": "", "role_arn": "", "located_role": None}
        self._known = threading.Event()
        self._known.set()
        # Set once the resolver's first request has left: other reads start after it, so that
        # their clients' creation (CPU) does not delay the request the account waits for.
        self.first_request_sent = threading.Event()
        self.first_request_sent.set()
        self._error: BaseException | None = None
        self._resolver: threading.Thread | None = None
        # When STS may be asked, if at all (pipeline.ask_sts): once the role lookup is done or
        # every read of `observe` has a request in flight, whichever comes first.
        self._sts_turn = threading.Event()
        self._sts_unneeded = False

    def pending(self, resolver: threading.Thread) -> None:
        """From now until `resolve` or `fail`, reading waits (the resolver itself must not)."""
        self._known.clear()
        self.first_request_sent.clear()
        self._resolver = resolver

    def sent(self, **_: Any) -> None:
        """A botocore `before-send` handler: the resolver's first request is leaving."""
        self.first_request_sent.set()

    def reads_sent(self) -> None:
        """`observe`: every read has a request in flight, so STS takes no CPU from them now."""
        self._sts_turn.set()

    def lookup_done(self, sts_needed: bool) -> None:
        """The role lookup is over: STS is not needed when it gave the account (or failed)."""
        if not sts_needed and not self._sts_turn.is_set():
            self._sts_unneeded = True
        self._sts_turn.set()

    def sts_turn(self) -> bool:
        """Wait for STS's turn; whether it is still to be asked."""
        self._sts_turn.wait()
        return not self._sts_unneeded

    def resolve(self, **values: Any) -> None:
        self.values.update(values)
        self._known.set()
        self.first_request_sent.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._known.set()
        self.first_request_sent.set()

    @property
    def error(self) -> BaseException | None:
        return self._error if self._known.is_set() else None

    def get(self, name: str) -> Any:
        if not self._known.is_set() and threading.current_thread() is self._resolver:
            raise RuntimeError(f"{name} is read by the code that finds it")
        self._known.wait()
        if self._error is not None:
            raise self._error
        return self.values[name]


@dataclass
class Context:
    """Everything a resource module needs. `pipeline.begin` finds the account and the role
    (`identity`); the flags say what this run reads (`with_tags` for status and down, `teardown`
    also reads whether the bucket and table hold data) and may do (`delete_data`)."""

    aws: Aws
    spec: Spec
    region: str
    timing: Timing = field(default_factory=Timing)
    package: Package | None = None
    with_tags: bool = False
    teardown: bool = False
    delete_data: bool = False
    identity: Identity = field(default_factory=Identity, repr=False, compare=False)
    home: Path | None = None  # pipectl's folder, where this pipeline's ledger lives
    _ledger: Ledger | None = field(default=None, repr=False, compare=False)

    @property
    def account_id(self) -> str:
        return self.identity.get("account_id")

    @account_id.setter
    def account_id(self, value: str) -> None:
        self.identity.values["account_id"] = value

    @property
    def role_arn(self) -> str:
        return self.identity.get("role_arn")

    @role_arn.setter
    def role_arn(self, value: str) -> None:
        self.identity.values["role_arn"] = value

    @property
    def located_role(self) -> Any:
        """The role.RoleState `begin` located, completed by role.read()."""
        return self.identity.get("located_role")

    @located_role.setter
    def located_role(self, value: Any) -> None:
        self.identity.values["located_role"] = value

    @property
    def ledger(self) -> Ledger | None:
        """What this pipeline created (ledger.py), kept per account, so built once the account
        is known; None without a home folder."""
        if self.home is None:
            return None
        if self._ledger is None:
            from pipectl.ledger import Ledger

            self._ledger = Ledger.for_pipeline(
                self.home, self.account_id, self.region, self.spec.pipeline
            )
        return self._ledger

    def client(self, service: str, **options: Any) -> Any:
        return self.aws.client(service, **options)

    @property
    def sleep(self) -> Callable[[float], None]:
        return self.timing.sleep

    @property
    def clock(self) -> Callable[[], float]:
        return self.timing.clock

    @property
    def deadlines(self) -> Deadlines:
        return self.timing.deadlines

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def bucket_name(self) -> str:
        """The configured name, else the default one (which waits for the account id)."""
        return self.spec.bucket.name or self.spec.default_bucket_name(self.account_id, self.region)

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
