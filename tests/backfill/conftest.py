"""Fixtures for the backfill tests: in-process moto with the pipeline made by `pipectl up`, and
Lambda's asynchronous Invoke answered by a recording hook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from backfill_helpers import BUCKET, FakeLambda, make_table_and_function, put_objects


@pytest.fixture
def mocked() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def fake_lambda(runtime) -> FakeLambda:
    """Registered after the fault injector, so an injected fault wins over the 202."""
    fake = FakeLambda()
    runtime.hooks.append(fake.hook)
    return fake


@pytest.fixture
def pipeline(mocked, cli, fake_lambda) -> Callable[..., None]:
    """pipeline(keys, config="") -> the bucket holding `keys` (uploaded before any trigger), the
    table and the function, made directly: `up` itself is tested elsewhere and costs seconds."""

    def make(keys: list[str], config: str = "", versioned: bool = False) -> None:
        if config:
            (Path.cwd() / "pipectl.yaml").write_text(config)  # cwd: the test's workdir
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        if versioned:
            s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        put_objects(keys)
        make_table_and_function()

    return make
