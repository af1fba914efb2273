"""The order of `up`'s reads and steps, checked through botocore's events (which call starts
before which ends), never through wall time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest

from pipectl import pipeline
from pipectl.aws import Aws, Target
from pipectl.build import packaging
from pipectl.config.model import Spec
from pipectl.errors import PipectlError
from pipectl.plan import Action
from pipectl.resources import role
from pipectl.resources.registry import KINDS

# The reads that need neither the account id nor the role: they go out with the role lookup.
ACCOUNT_FREE_READS = {
    "dynamodb.DescribeTable",
    "logs.DescribeLogGroups",
    "lambda.GetFunction",
    "lambda.GetFunctionEventInvokeConfig",
    "lambda.GetPolicy",
}


@pytest.fixture
def mocked() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


class HeldCall:
    """Holds `operation`'s answer (in its after-call event) until every one of `expected` has
    started, or 30 s passed; records each call's start and end in one ordered log."""

    def __init__(self, operation: str, expected: set[str]) -> None:
        self.operation, self.expected = operation, set(expected)
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.all_started = threading.Event()
        self.released_in_time: bool | None = None

    def hook(self, client) -> None:
        client.meta.events.register("before-call.*.*", self.start)
        client.meta.events.register("after-call.*.*", self.end)
        client.meta.events.register("after-call-error.*.*", self.end)

    def start(self, model, **_) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        with self.lock:
            self.events.append(("start", name))
            if self.expected <= {n for e, n in self.events if e == "start"}:
                self.all_started.set()

    def end(self, model, **_) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        if name == self.operation and self.released_in_time is None:
            self.released_in_time = self.all_started.wait(timeout=30)
        with self.lock:
            self.events.append(("end", name))

    def index(self, event: str, name: str) -> int:
        return self.events.index((event, name))


def observe_with(held: HeldCall, spec: Spec) -> pipeline.Observed:
    aws = Aws(Target(region="us-east-1"), hooks=[held.hook])
    ctx = pipeline.begin(aws, spec, "us-east-1")
    return pipeline.observe(ctx)


def test_first_round_trip_holds_sts_and_every_read_that_needs_no_account(mocked):
    """No role exists (a first run): ListRoles' answer is held until STS and the five
    account-free reads have started; the bucket's reads, which need the account id (from STS
    here), start only after both answered."""
    held = HeldCall("iam.ListRoles", ACCOUNT_FREE_READS | {"sts.GetCallerIdentity"})
    observed = observe_with(held, Spec())
    assert held.released_in_time, f"these waited for ListRoles: {held.events}"
    assert not observed["bucket"].exists
    bucket_reads = [n for e, n in held.events if e == "start" and n.startswith("s3.")]
    assert "s3.GetBucketVersioning" in bucket_reads and "s3.GetBucketPolicy" in bucket_reads
    account_known = max(
        held.index("end", "iam.ListRoles"), held.index("end", "sts.GetCallerIdentity")
    )
    assert all(held.index("start", n) > account_known for n in bucket_reads), held.events


def test_a_named_bucket_is_read_in_the_first_round_trip_too(mocked):
    """With bucket.name set, nothing the bucket's reads need waits for the account: its five
    reads and the notification go out with ListRoles."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="my-named-bucket")
    bucket_reads = {
        "s3.GetBucketVersioning",
        "s3.GetPublicAccessBlock",
        "s3.GetBucketOwnershipControls",
        "s3.GetBucketEncryption",
        "s3.GetBucketPolicy",
        "s3.GetBucketNotificationConfiguration",
    }
    held = HeldCall("iam.ListRoles", ACCOUNT_FREE_READS | bucket_reads)
    spec = Spec()
    spec = replace(spec, bucket=replace(spec.bucket, name="my-named-bucket"))
    observed = observe_with(held, spec)
    assert held.released_in_time, f"these waited for ListRoles: {held.events}"
    assert observed["bucket"].exists


def test_the_queue_read_of_two_calls_starts_before_every_other_read(mocked):
    """GetQueueAttributes needs the URL GetQueueUrl answers (queue.CHAINED_READ_CLIENT): the
    queue's read starts first, its client made before the others', so that its second call
    overlaps their client creation instead of adding a round trip after them."""
    boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=Spec().queue_name)
    held = HeldCall("iam.ListRoles", set())
    observed = observe_with(held, Spec())
    assert observed["queue"].exists
    reads = [n for e, n in held.events if e == "start" and n.split(".")[0] not in {"iam", "sts"}]
    assert reads[0] == "sqs.GetQueueUrl", held.events
    assert held.index("end", "sqs.GetQueueUrl") < held.index("start", "sqs.GetQueueAttributes")
    registry_order = [kind.name for kind in KINDS if kind.configured(Spec())]
    assert list(observed.states) == registry_order  # reports keep the registry's order


def test_the_function_is_created_while_the_role_policy_is_put(mocked):
    """The role's PutRolePolicy is held until CreateFunction has started: the function waited
    only for CreateRole (and the log group), not for the role's whole step."""
    held = HeldCall("iam.PutRolePolicy", {"lambda.CreateFunction"})
    aws = Aws(Target(region="us-east-1"), hooks=[held.hook])
    ctx = pipeline.begin(aws, Spec(), "us-east-1")
    ctx.package = packaging.build(None)
    result = pipeline.up(ctx, pipeline.observe(ctx))
    assert result.ok, result.errors
    assert held.released_in_time, held.events
    assert held.index("start", "lambda.CreateFunction") < held.index("end", "iam.PutRolePolicy")
    policy = boto3.client("iam").get_role_policy(
        RoleName=Spec().created_role_name, PolicyName="pipectl-serverless-data"
    )
    assert policy["PolicyDocument"] == role.least_privilege_policy(ctx)


def test_a_failed_late_op_fails_the_run_and_a_second_up_converges(mocked, faults):
    """PutRetentionPolicy fails (once CreateFunction has started: CreateLogGroup unblocked the
    function): the log group's step fails, and so the run, while the function is made; a second
    run sets the retention and changes nothing else."""
    faults.add("logs.PutRetentionPolicy", "ServiceUnavailableException", times=None)
    function_started = threading.Event()

    def fail_after_function_started(client) -> None:
        def on_call(model, **_) -> None:
            if model.name == "CreateFunction":
                function_started.set()
            elif model.name == "PutRetentionPolicy" and faults.rules:
                assert function_started.wait(timeout=30)

        client.meta.events.register("before-call.*.*", on_call)

    def run_up() -> pipeline.RunResult:
        aws = Aws(Target(region="us-east-1"), hooks=[fail_after_function_started, faults.hook])
        ctx = pipeline.begin(aws, Spec(), "us-east-1")
        ctx.package = packaging.build(None)
        return pipeline.up(ctx, pipeline.observe(ctx))

    first = run_up()
    assert list(first.errors) == ["log_group"]
    actions = {c.resource: c.action for c in first.changes}
    assert actions["log_group"] is Action.FAILED
    assert actions["function"] is Action.CREATE
    faults.rules.clear()
    second = run_up()
    assert second.ok, second.errors
    changed = {c.resource: c.detail for c in second.changes if c.action is not Action.UNCHANGED}
    assert changed == {"log_group": "retention never expire, want 14 days"}
    groups = boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")
    assert groups["logGroups"][0]["retentionInDays"] == 14


def test_only_trailing_late_ops_run_after_the_dependents_start():
    """An op not declared late (one added later included) is always waited for; late ops
    before it are too, so the order of ops never changes."""
    from pipectl.plan import Change
    from pipectl.resources import bucket as b

    late = frozenset(b.LATE_OPS)
    create = Change("bucket", "x", Action.CREATE, ops=(b.Op.CREATE, b.Op.TAGS, b.Op.ENCRYPTION))
    first, rest = pipeline.split_ops(create, late)
    assert first.ops == (b.Op.CREATE, b.Op.TAGS) and rest.ops == (b.Op.ENCRYPTION,)
    update = Change("bucket", "x", Action.UPDATE, ops=(b.Op.ENCRYPTION,))
    first, rest = pipeline.split_ops(update, late)
    assert first.ops == () and rest.ops == (b.Op.ENCRYPTION,)
    unlisted_last = Change("bucket", "x", Action.UPDATE, ops=(b.Op.ENCRYPTION, b.Op.TAGS))
    assert pipeline.split_ops(unlisted_last, late) == (unlisted_last, None)


def test_meanwhile_runs_once_every_read_is_in_flight(mocked):
    """`observe`'s `meanwhile` (the UI's import) runs after each read's first request has left,
    so it takes none of the CPU their clients need, and before their answers are awaited."""
    held = HeldCall("iam.ListRoles", set())
    spec = Spec()
    spec = replace(spec, bucket=replace(spec.bucket, name="my-named-bucket"))
    aws = Aws(Target(region="us-east-1"), hooks=[held.hook])
    ctx = pipeline.begin(aws, spec, "us-east-1")
    seen: list[set[str]] = []

    def meanwhile() -> None:
        with held.lock:
            seen.append({name.split(".")[0] for event, name in held.events if event == "start"})

    pipeline.observe(ctx, meanwhile=meanwhile)
    assert seen == [{"iam", "sts", "s3", "dynamodb", "logs", "sqs", "lambda"}], held.events


def named_bucket_spec() -> Spec:
    spec = Spec()
    return replace(spec, bucket=replace(spec.bucket, name="my-named-bucket"))


def make_lab_role() -> None:
    boto3.client("iam").create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(role.TRUST_POLICY)
    )


def test_a_named_bucket_and_a_found_role_ask_sts_nothing(mocked):
    """A re-run with a named bucket: ListRoles' ARN gives the account, and no read waited for
    it, so STS is never asked (its client is not even made)."""
    make_lab_role()
    aws = Aws(Target(region="us-east-1"))
    ctx = pipeline.begin(aws, named_bucket_spec(), "us-east-1")
    pipeline.observe(ctx)
    assert ctx.account_id == "123456789012"
    assert not any(call.startswith("sts.") for call in aws.calls.calls), aws.calls.calls


def test_a_named_bucket_with_no_role_asks_sts_once_the_reads_have_left(mocked):
    """A first run with a named bucket: STS answers the account, asked after every read has
    left (ListRoles' answer is held until then), so its client took no CPU from theirs."""
    held = HeldCall("iam.ListRoles", ACCOUNT_FREE_READS | {"s3.GetBucketPolicy"})
    aws = Aws(Target(region="us-east-1"), hooks=[held.hook])
    ctx = pipeline.begin(aws, named_bucket_spec(), "us-east-1")
    pipeline.observe(ctx)
    assert held.released_in_time, held.events
    assert ctx.account_id == "123456789012"
    sts = held.index("start", "sts.GetCallerIdentity")
    assert all(held.index("start", name) < sts for name in ACCOUNT_FREE_READS), held.events


@pytest.mark.parametrize("found", [True, False])
def test_a_command_that_reads_nothing_else_still_gets_the_account(mocked, found):
    """`connect` (invoke, package) never calls observe: STS then goes once the lookup is done,
    if it found no role."""
    if found:
        make_lab_role()
    aws = Aws(Target(region="us-east-1"))
    ctx, located = pipeline.connect(aws, named_bucket_spec(), "us-east-1")
    assert ctx.account_id == "123456789012" and located.exists is found
    assert any(call.startswith("sts.") for call in aws.calls.calls) is not found


def test_a_failed_role_lookup_with_a_named_bucket_is_raised_and_asks_no_sts(mocked, faults):
    faults.add("iam.ListRoles", "ServiceUnavailable", times=None, status=400)
    aws = Aws(Target(region="us-east-1"), hooks=[faults.hook])
    ctx = pipeline.begin(aws, named_bucket_spec(), "us-east-1")
    with pytest.raises(PipectlError, match="listing IAM roles"):
        ctx.account_id  # noqa: B018
    ctx.identity._resolver.join(timeout=10)  # a waiting STS thread would keep the process alive
    assert not ctx.identity._resolver.is_alive()
    assert not any(call.startswith("sts.") for call in aws.calls.calls), aws.calls.calls
