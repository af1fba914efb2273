"""The resource contract: one registry, every module shaped alike, plans that make no AWS call."""

from __future__ import annotations

import inspect

import boto3

from pipectl import pipeline
from pipectl.build import packaging
from pipectl.plan import Op
from pipectl.resources.registry import KINDS

CONTRACT = {"read": 1, "plan": 2, "apply": 3, "plan_destroy": 2, "destroy": 3}


def test_every_registered_module_has_the_same_shape():
    names = [kind.name for kind in KINDS]
    assert len(names) == len(set(names))
    for kind in KINDS:
        module = kind.module
        assert module.KIND == kind.name
        assert issubclass(module.Op, Op) and list(module.Op), kind.name
        for function, arity in CONTRACT.items():
            params = inspect.signature(getattr(module, function)).parameters
            assert len(params) == arity, f"{kind.name}.{function}"
        for op in getattr(module, "PERFORM", {}):
            assert isinstance(op, module.Op), f"{kind.name}.PERFORM has a foreign op {op!r}"
        for op in module.Op:
            assert op.calls, f"{kind.name}.Op.{op.name} names no AWS call"
            assert all(call.count(".") == 1 for call in op.calls), op.calls


def test_dependencies_name_registered_kinds_that_come_earlier_on_the_way_up():
    position = {kind.name: index for index, kind in enumerate(KINDS)}
    for kind in KINDS:
        for dependency in kind.after_up:
            assert position[dependency] < position[kind.name], (kind.name, dependency)
        for dependency in kind.after_down:
            assert position[dependency] > position[kind.name], (kind.name, dependency)


def read_as_down_does(make_ctx):
    """A context that reads what status and down read (tags, data held), what it observed, and
    the calls made so far."""
    ctx, _ = make_ctx()
    ctx.package = packaging.build()
    ctx.with_tags = ctx.teardown = True
    observed = pipeline.observe(ctx)
    return ctx, observed, list(ctx.aws.calls.calls)


def test_plans_are_pure_functions_of_what_was_read(make_ctx):
    """`up` half-done, then plan up, plan down and status: only `read` calls AWS."""
    boto3.client("s3").create_bucket(Bucket="serverless-data-input-123456789012-us-east-1")
    ctx, observed, before = read_as_down_does(make_ctx)
    up_plans = pipeline.plan_up(ctx, observed)
    down_plans = pipeline.plan_down(ctx, observed)
    rows = pipeline.status(ctx, observed)
    assert ctx.aws.calls.calls == before
    assert up_plans["bucket"].action.value == "update"  # made by hand: no pipectl settings
    assert down_plans["bucket"].action.value == "keep"  # not pipectl's
    assert [row.resource for row in rows] == [k.name for k in KINDS if k.configured(ctx.spec)]


def test_plans_of_a_managed_pipeline_holding_data_make_no_call(make_ctx):
    """The managed branches that once asked AWS in a plan (is the bucket empty, does the table
    hold items, the created role's details) are planned from what `read` found: up, down with
    and without --delete-data, and status make no call."""
    first, _ = make_ctx()
    first.package = packaging.build()
    assert pipeline.up(first, pipeline.observe(first)).ok
    s3 = boto3.client("s3")
    s3.delete_bucket_policy(Bucket=first.bucket_name)  # moto denies its TLS-only statement
    s3.put_object(Bucket=first.bucket_name, Key="kept.csv", Body=b"x")
    item = {first.spec.table.partition_key: {"S": "kept.csv"}}
    boto3.client("dynamodb").put_item(TableName=first.spec.table.name, Item=item)
    ctx, observed, before = read_as_down_does(make_ctx)
    kept = pipeline.plan_down(ctx, observed)
    ctx.delete_data = True
    deleted = pipeline.plan_down(ctx, observed)
    pipeline.plan_up(ctx, observed)
    pipeline.status(ctx, observed)
    assert ctx.aws.calls.calls == before
    assert kept["bucket"].action.value == "keep" and kept["table"].action.value == "keep"
    assert deleted["bucket"].action.value == "delete" and deleted["table"].action.value == "delete"
