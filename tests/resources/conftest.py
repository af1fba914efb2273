"""Fixtures for resource-module tests: moto in-process and a Context factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from pipectl.aws import Aws, Target
from pipectl.config import Spec
from pipectl.pipeline import Timing, connect
from pipectl.resources import role


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
