"""Fixtures for resource-module tests: moto in-process and a Context factory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest
from foreign_resources import s3_invokable_function

from pipectl.aws import Aws, Target
from pipectl.build import packaging
from pipectl.config.model import Spec
from pipectl.pipeline import Timing, connect
from pipectl.resources import bucket, function, permission, role


@pytest.fixture
def mocked() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def make_ctx(mocked, faults, fake_clock):
    """make_ctx(spec=None) -> (ctx, role_state), with the fault injector and fake time wired in."""

    def make(spec: Spec | None = None, region: str = "us-east-1"):
        aws = Aws(Target(region=region), hooks=[faults.hook])
        timing = Timing(sleep=fake_clock.sleep, clock=fake_clock.clock)
        ctx, role_state = connect(aws, spec or Spec(), region, timing)
        return ctx, role.read_details(ctx, role_state)

    return make


def build_spec(**sections) -> Spec:
    """Spec() with some sections' fields replaced: build_spec(function={"memory_mb": 256})."""
    spec = Spec()
    for section, values in sections.items():
        if isinstance(values, dict):
            spec = replace(spec, **{section: replace(getattr(spec, section), **values)})
        else:
            spec = replace(spec, **{section: values})
    return spec


@pytest.fixture
def spec_with():
    return build_spec


@pytest.fixture
def ready(make_ctx):
    """Bucket, function and permission in place: what the trigger step runs after."""
    boto3.client("iam").create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(role.TRUST_POLICY)
    )

    def build(spec=None):
        ctx, _ = make_ctx(spec)
        package = packaging.build()
        for module in (bucket, permission):
            state = module.read(ctx)
            if module is permission:
                fstate = function.read(ctx)
                ctx.package = package  # up builds the package before planning
                function.apply(ctx, fstate, function.plan(ctx, fstate))
                state = module.read(ctx)
            module.apply(ctx, state, module.plan(ctx, state))
        return ctx

    return build


class Foreign:
    """Other teams' notification destinations in the same (mocked) account."""

    def function(self, name: str = "theirs") -> str:
        """Another team's function, with the permission S3 needs to invoke it."""
        role_arn = boto3.client("iam").get_role(RoleName="LabRole")["Role"]["Arn"]
        return s3_invokable_function(boto3.client("lambda"), role_arn, name)

    def queue(self, name: str = "their-queue", allow_s3: bool = True) -> str:
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        if allow_s3:
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "SQS:SendMessage",
                        "Resource": arn,
                        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}},
                    }
                ],
            }
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        return arn

    def topic(self, name: str = "their-topic") -> str:
        return boto3.client("sns").create_topic(Name=name)["TopicArn"]


@pytest.fixture
def foreign(mocked) -> Foreign:
    return Foreign()
