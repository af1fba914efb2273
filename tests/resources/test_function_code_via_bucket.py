"""A package over what a CreateFunction/UpdateFunctionCode request holds (~50 MB) goes through the
pipeline's bucket under a pipectl-owned key, which is deleted once Lambda has the code; `up` runs
the function step after the bucket then; `down` removes a leftover and does not count it as data.

Packages are real zips that report themselves too big (`OverRequestSize`), so that no test moves
50 MB; the size rule itself is tested in tests/build/test_packaging.py. Buckets here go without the
TLS-only policy statement: moto denies every object request under it (it does not see TLS)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
import pytest

from pipectl import pipeline
from pipectl.build import packaging
from pipectl.build.packaging import CODE_PREFIX
from pipectl.plan import Action
from pipectl.resources import bucket, function, registry, role

FUNCTION = "serverless-data-processor"


@dataclass(frozen=True)
class OverRequestSize(packaging.Package):
    @property
    def fits_direct_upload(self) -> bool:
        return False


@pytest.fixture
def no_tls(spec_with):
    return spec_with(bucket={"enforce_tls": False})


@pytest.fixture
def lab_role(mocked):
    boto3.client("iam").create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(role.TRUST_POLICY)
    )


def big(source=None) -> OverRequestSize:
    built = packaging.build(source)
    return OverRequestSize(built.zip_bytes, built.files)


def converge(ctx, module):
    state = module.read(ctx)
    return module.apply(ctx, state, module.plan(ctx, state))


def code_uploads(ctx) -> list[dict]:
    page = ctx.client("s3").list_object_versions(Bucket=ctx.bucket_name, Prefix=CODE_PREFIX)
    return page.get("Versions", []) + page.get("DeleteMarkers", [])


def recorder(ctx, operation: str, service: str = "lambda") -> list[dict]:
    """The parameters of every `operation` call pipectl makes (before botocore sends it)."""
    sent: list[dict] = []
    ctx.client(service).meta.events.register(
        f"provide-client-params.{service}.{operation}",
        lambda params, **_: sent.append(dict(params)),
    )
    return sent


def test_create_takes_the_code_from_the_bucket_and_deletes_it(make_ctx, lab_role, no_tls):
    ctx, _ = make_ctx(no_tls)
    converge(ctx, bucket)
    ctx.package = big()
    state = function.read(ctx)
    change = function.plan(ctx, state)
    assert change.ops == (function.Op.CREATE_VIA_BUCKET, function.Op.INVOKE_CONFIG)
    assert change.calls[:3] == ("s3.PutObject", "lambda.CreateFunction", "s3.DeleteObject")
    sent = recorder(ctx, "CreateFunction")
    before = len(ctx.aws.calls.calls)
    function.apply(ctx, state, change)
    made = ctx.aws.calls.calls[before:]
    assert made.index("s3.PutObject") < made.index("lambda.CreateFunction")
    assert made.index("lambda.CreateFunction") < made.index("s3.DeleteObject")
    key = ctx.package.bucket_key(FUNCTION)
    assert key.startswith(CODE_PREFIX + FUNCTION + "/") and key.endswith(".zip")
    assert sent[0]["Code"] == {"S3Bucket": ctx.bucket_name, "S3Key": key}
    conf = ctx.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert conf["CodeSha256"] == ctx.package.sha256
    assert code_uploads(ctx) == []


def test_update_through_a_versioned_bucket_leaves_nothing_even_when_it_fails(
    make_ctx, lab_role, spec_with, faults, tmp_path
):
    ctx, _ = make_ctx(spec_with(bucket={"versioning": True, "enforce_tls": False}))
    converge(ctx, bucket)
    ctx.package = packaging.build()
    converge(ctx, function)
    (tmp_path / "app.py").write_text("def lambda_handler(event, context):\n    return 2\n")
    ctx.package = big(str(tmp_path))
    change = function.plan(ctx, function.read(ctx))
    assert change.ops == (function.Op.CODE_VIA_BUCKET,)
    sent = recorder(ctx, "UpdateFunctionCode")
    faults.add("lambda.UpdateFunctionCode", "InvalidParameterValueException", "bad zip")
    with pytest.raises(Exception, match="bad zip"):
        function.apply(ctx, function.read(ctx), change)
    assert code_uploads(ctx) == []  # that very version deleted: no delete marker either
    function.apply(ctx, function.read(ctx), change)
    assert sent[-1]["S3Key"] == ctx.package.bucket_key(FUNCTION)
    assert sent[-1]["S3ObjectVersion"]  # exactly the version just put
    conf = ctx.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert conf["CodeSha256"] == ctx.package.sha256
    assert code_uploads(ctx) == []


def test_up_runs_the_function_after_the_bucket_only_for_a_big_package(make_ctx, lab_role, no_tls):
    ctx, _ = make_ctx(no_tls)
    ctx.package = packaging.build()
    assert registry.when_code_goes_through_the_bucket(ctx) == ()  # beside the bucket, as before
    ctx.package = big()
    assert registry.when_code_goes_through_the_bucket(ctx) == ("bucket",)
    events: list[tuple[str, str]] = []
    result = pipeline.up(ctx, pipeline.observe(ctx), lambda n, e, c: events.append((n, e)))
    assert result.ok, result.errors
    assert events.index(("bucket", "done")) < events.index(("function", "start"))
    assert code_uploads(ctx) == []


def test_down_removes_a_leftover_package_and_does_not_keep_the_bucket_for_it(make_ctx, no_tls):
    ctx, _ = make_ctx(no_tls)
    converge(ctx, bucket)
    s3 = ctx.client("s3")
    s3.put_object(Bucket=ctx.bucket_name, Key=f"{CODE_PREFIX}{FUNCTION}/abc.zip", Body=b"PK")
    ctx.teardown = ctx.with_tags = True
    state = bucket.read(ctx)
    assert state.holds_objects is False
    change = bucket.plan_destroy(ctx, state)
    assert change.action is Action.DELETE
    assert change.ops == (bucket.Op.REMOVE_CODE, bucket.Op.DELETE)  # what --dry-run shows
    assert "leftover deployment package" in change.detail
    deletes = recorder(ctx, "DeleteBucket", service="s3")
    bucket.destroy(ctx, state, change)
    assert len(deletes) == 1  # the package went first: no BucketNotEmpty to recover from
    assert ctx.bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_bucket_kept_for_its_data_loses_only_the_leftover_package(make_ctx, no_tls):
    ctx, _ = make_ctx(no_tls)
    converge(ctx, bucket)
    s3 = ctx.client("s3")
    s3.put_object(Bucket=ctx.bucket_name, Key=f"{CODE_PREFIX}{FUNCTION}/abc.zip", Body=b"PK")
    s3.put_object(Bucket=ctx.bucket_name, Key="incoming/data.csv", Body=b"a,b\n")
    ctx.teardown = ctx.with_tags = True
    state = bucket.read(ctx)
    assert state.holds_objects is True and state.leftover_code is True
    change = bucket.plan_destroy(ctx, state)
    assert change.action is Action.UPDATE and change.ops == (bucket.Op.REMOVE_CODE,)
    assert "--delete-data" in change.detail
    bucket.destroy(ctx, state, change)
    assert code_uploads(ctx) == []
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=ctx.bucket_name)["Contents"]] == [
        "incoming/data.csv"
    ]


def test_a_bucket_kept_for_its_data_without_a_leftover_is_left_as_it_is(make_ctx, no_tls):
    ctx, _ = make_ctx(no_tls)
    converge(ctx, bucket)
    ctx.client("s3").put_object(Bucket=ctx.bucket_name, Key="incoming/data.csv", Body=b"a,b\n")
    ctx.teardown = ctx.with_tags = True
    state = bucket.read(ctx)
    assert state.leftover_code is False
    change = bucket.plan_destroy(ctx, state)
    assert change.action is Action.KEEP and change.ops == ()


def test_an_adopted_bucket_loses_only_pipectls_leftover_package(make_ctx, no_tls):
    ctx, _ = make_ctx(no_tls)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=ctx.bucket_name)  # the user's, untagged
    s3.put_object(Bucket=ctx.bucket_name, Key=f"{CODE_PREFIX}{FUNCTION}/abc.zip", Body=b"PK")
    s3.put_object(Bucket=ctx.bucket_name, Key="theirs.csv", Body=b"x")
    ctx.teardown = ctx.with_tags = True
    state = bucket.read(ctx)
    change = bucket.plan_destroy(ctx, state)
    assert change.action is Action.UPDATE and bucket.Op.REMOVE_CODE in change.ops
    assert "leftover deployment package" in change.detail
    bucket.destroy(ctx, state, change)
    assert code_uploads(ctx) == []
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=ctx.bucket_name)["Contents"]] == [
        "theirs.csv"
    ]
