"""The run context every resource step gets: the spec with names resolved, the account, the AWS
seam, what this run reads and may do (tags, teardown, deleting data), the deployment package, and
injectable time so that retries and waits are testable without waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # kept out of the import: `pipectl --help` loads neither schema nor boto3
    from pipectl.aws import Aws
    from pipectl.config import Spec
    from pipectl.packaging import Package


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


@dataclass
class Context:
    """Everything a resource module needs. `connect` fills the account and the role; the flags
    say what this run reads (`with_tags` for status and down, `teardown` also reads whether the
    bucket and table hold data) and may do (`delete_data`)."""

    aws: Aws
    spec: Spec
    region: str
    account_id: str = ""
    role_arn: str = ""
    timing: Timing = field(default_factory=Timing)
    package: Package | None = None
    with_tags: bool = False
    teardown: bool = False
    delete_data: bool = False
    located_role: Any = None  # role.RoleState found by connect(), completed by role.read()

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
        assert self.spec.bucket.name, "bucket name is resolved before a Context is used"
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
