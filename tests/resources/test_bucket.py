import json

import boto3
import pytest

from pipectl.errors import AwsError
from pipectl.plan import Action
from pipectl.resources import bucket


def tagged(ctx):
    """The context of a run that reads tags (status, down)."""
    ctx.with_tags = True
    return ctx


def converge(ctx):
    state = bucket.read(ctx)
    change = bucket.plan(ctx, state)
    return bucket.apply(ctx, state, change)


def test_create_sets_every_console_setting(make_ctx):
    ctx, _ = make_ctx()
    change = converge(ctx)
    assert change.action is Action.CREATE
    s3 = ctx.client("s3")
    name = ctx.bucket_name
    assert name == "serverless-data-input-123456789012-us-east-1"
    pab = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert pab == bucket.PUBLIC_ACCESS_BLOCK
    rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    sse = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags == {"managed-by": "pipectl", "pipectl-pipeline": "serverless-data"}


def test_second_run_is_unchanged(make_ctx):
    ctx, _ = make_ctx()
    converge(ctx)
    assert bucket.plan(ctx, bucket.read(ctx)).action is Action.UNCHANGED


def test_region_other_than_us_east_1_sends_location_constraint(make_ctx):
    ctx, _ = make_ctx(region="eu-west-2")
    converge(ctx)
    location = ctx.client("s3").get_bucket_location(Bucket=ctx.bucket_name)
    assert location["LocationConstraint"] == "eu-west-2"
    assert ctx.bucket_name.endswith("-eu-west-2")


def test_drift_is_detected_and_repaired(make_ctx):
    ctx, _ = make_ctx()
    converge(ctx)
    s3 = ctx.client("s3")
    s3.put_bucket_encryption(
        Bucket=ctx.bucket_name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.delete_public_access_block(Bucket=ctx.bucket_name)
    change = bucket.plan(ctx, bucket.read(ctx))
    assert change.action is Action.UPDATE
    assert "encryption aws:kms, want AES256" in change.reasons
    assert any(r.startswith("public access block off") for r in change.reasons)
    assert set(change.ops) == {"encryption", "public_access_block"}
    bucket.apply(ctx, bucket.read(ctx), change)
    assert bucket.plan(ctx, bucket.read(ctx)).action is Action.UNCHANGED


def test_tls_statement_is_merged_into_existing_policy(make_ctx):
    ctx, _ = make_ctx()
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=ctx.bucket_name)
    other = {
        "Sid": "TheirStatement",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteBucket",
        "Resource": ctx.bucket_arn,
    }
    s3.put_bucket_policy(
        Bucket=ctx.bucket_name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    converge(ctx)
    statements = json.loads(s3.get_bucket_policy(Bucket=ctx.bucket_name)["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["TheirStatement", bucket.TLS_SID]
    assert statements[0] == other


def test_adopted_bucket_is_not_tagged(make_ctx):
    ctx, _ = make_ctx()
    ctx.client("s3").create_bucket(Bucket=ctx.bucket_name)
    change = converge(ctx)
    assert change.action is Action.UPDATE
    assert bucket.read(tagged(ctx)).tags == {}


def test_versioning_follows_config(make_ctx, spec_with):
    ctx, _ = make_ctx(spec_with(bucket={"versioning": True}))
    converge(ctx)
    status = ctx.client("s3").get_bucket_versioning(Bucket=ctx.bucket_name)["Status"]
    assert status == "Enabled"
    ctx2, _ = make_ctx(spec_with(bucket={"versioning": False}))
    change = bucket.plan(ctx2, bucket.read(ctx2))
    assert change.reasons == ("versioning Enabled, want off",)
    bucket.apply(ctx2, bucket.read(ctx2), change)
    status = ctx.client("s3").get_bucket_versioning(Bucket=ctx.bucket_name)["Status"]
    assert status == "Suspended"


def test_bucket_of_another_account_is_a_clear_error(make_ctx, faults):
    ctx, _ = make_ctx()
    faults.add("s3.GetBucketVersioning", "AccessDenied", "Access Denied", status=403)
    with pytest.raises(AwsError, match="taken by another AWS account") as info:
        bucket.read(ctx)
    assert "bucket.name" in info.value.hint


def test_name_taken_at_create_is_a_clear_error(make_ctx, faults):
    ctx, _ = make_ctx()
    faults.add(
        "s3.CreateBucket", "BucketAlreadyExists", "The requested bucket name is not available"
    )
    state = bucket.read(ctx)
    with pytest.raises(AwsError, match="taken by another AWS account"):
        bucket.apply(ctx, state, bucket.plan(ctx, state))


def test_already_owned_by_you_is_not_an_error(make_ctx, faults):
    ctx, _ = make_ctx()
    faults.add("s3.CreateBucket", "BucketAlreadyOwnedByYou", "Your previous request succeeded")
    state = bucket.read(ctx)
    boto3.client("s3").create_bucket(Bucket=ctx.bucket_name)  # made meanwhile, by someone else
    assert bucket.apply(ctx, state, bucket.plan(ctx, state)).action is Action.CREATE
