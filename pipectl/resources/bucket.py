"""The input bucket: created private (Block Public Access x4, BucketOwnerEnforced, SSE-S3), with
versioning per config and a TLS-only policy statement merged into any existing policy."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from pipectl.aws import error_code, http_status, translate
from pipectl.errors import AwsError
from pipectl.plan import Action, Change, Context, change_for
from pipectl.resources.common import owned, parallel_reads, tag_list, tags_dict, unless_missing

KIND = "bucket"
TLS_SID = "pipectl-deny-insecure-transport"
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
MISSING_CODES = {"NoSuchBucket", "404", "NotFound"}


@dataclass(frozen=True)
class BucketState:
    name: str
    exists: bool
    versioning: str = ""  # "", "Enabled" or "Suspended"
    public_access_block: dict[str, bool] | None = None
    ownership: str | None = None
    encryption: str | None = None  # SSEAlgorithm of the default rule
    policy: dict[str, Any] | None = None
    tags: dict[str, str] | None = None  # read only for status/down


def read(ctx: Context, with_tags: bool = False) -> BucketState:
    """Probe with GetBucketVersioning (needed anyway): a missing bucket answers NoSuchBucket, one
    owned by another account AccessDenied. Then read the other settings in parallel."""
    s3 = ctx.client("s3")
    name = ctx.bucket_name
    try:
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status", "")
    except Exception as exc:
        if error_code(exc) in MISSING_CODES:
            return BucketState(name, exists=False)
        if error_code(exc) in {"AccessDenied", "403"} or http_status(exc) == 403:
            raise taken_error(name) from None
        raise translate(exc, f"reading bucket {name}") from None
    readers = {
        "public_access_block": lambda: read_public_access_block(s3, name),
        "ownership": lambda: read_ownership(s3, name),
        "encryption": lambda: read_encryption(s3, name),
        "policy": lambda: read_policy(s3, name),
    }
    if with_tags:
        readers["tags"] = lambda: read_tags(s3, name)
    values = parallel_reads(readers)
    return BucketState(name, True, versioning, **values)


def read_public_access_block(s3: Any, name: str) -> dict[str, bool] | None:
    response = unless_missing(
        lambda: s3.get_public_access_block(Bucket=name),
        {"NoSuchPublicAccessBlockConfiguration"},
        {},
    )
    return response.get("PublicAccessBlockConfiguration")


def read_ownership(s3: Any, name: str) -> str | None:
    response = unless_missing(
        lambda: s3.get_bucket_ownership_controls(Bucket=name),
        {"OwnershipControlsNotFoundError"},
        {},
    )
    rules = response.get("OwnershipControls", {}).get("Rules", [])
    return rules[0]["ObjectOwnership"] if rules else None


def read_encryption(s3: Any, name: str) -> str | None:
    response = unless_missing(
        lambda: s3.get_bucket_encryption(Bucket=name),
        {"ServerSideEncryptionConfigurationNotFoundError"},
        {},
    )
    rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    return default.get("SSEAlgorithm")


def read_policy(s3: Any, name: str) -> dict[str, Any] | None:
    response = unless_missing(lambda: s3.get_bucket_policy(Bucket=name), {"NoSuchBucketPolicy"}, {})
    return json.loads(response["Policy"]) if "Policy" in response else None


def read_tags(s3: Any, name: str) -> dict[str, str]:
    response = unless_missing(lambda: s3.get_bucket_tagging(Bucket=name), {"NoSuchTagSet"}, {})
    return tags_dict(response.get("TagSet", []))


def tls_statement(ctx: Context) -> dict[str, Any]:
    return {
        "Sid": TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [ctx.bucket_arn, f"{ctx.bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def tls_wanted(ctx: Context) -> bool:
    """enforce_tls, except on a plain-HTTP endpoint (an emulator): there a policy denying
    aws:SecureTransport=false would deny every request, and moto does evaluate it."""
    return ctx.spec.bucket.enforce_tls and not plain_http(ctx)


def plain_http(ctx: Context) -> bool:
    return str(ctx.client("s3").meta.endpoint_url).startswith("http://")


def merged_policy(ctx: Context, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """The bucket policy with pipectl's TLS statement present (or absent when not wanted) and
    every other statement kept as it was. None means: no policy at all."""
    policy = dict(current or {"Version": "2012-10-17", "Statement": []})
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    others = [s for s in statements if s.get("Sid") != TLS_SID]
    if tls_wanted(ctx):
        others.append(tls_statement(ctx))
    if not others:
        return None
    policy["Statement"] = others
    return policy


def current_tls_statement(policy: dict[str, Any] | None) -> dict[str, Any] | None:
    statements = (policy or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return next((s for s in statements if s.get("Sid") == TLS_SID), None)


def plan(ctx: Context, state: BucketState) -> Change:
    wanted_versioning = "Enabled" if ctx.spec.bucket.versioning else ""
    reasons: list[str] = []
    ops: list[str] = []
    if not state.exists:
        ops = ["create", "public_access_block", "ownership", "encryption", "tags"]
        if wanted_versioning:
            ops.append("versioning")
        if tls_wanted(ctx):
            ops.append("policy")
        return change_for(KIND, state.name, ["missing"], ops, exists=False)
    if state.public_access_block != PUBLIC_ACCESS_BLOCK:
        off = [
            k
            for k, v in PUBLIC_ACCESS_BLOCK.items()
            if (state.public_access_block or {}).get(k) != v
        ]
        reasons.append(f"public access block off ({', '.join(off)})")
        ops.append("public_access_block")
    if state.ownership != "BucketOwnerEnforced":
        reasons.append(f"object ownership {state.ownership or 'unset'}, want BucketOwnerEnforced")
        ops.append("ownership")
    if state.encryption != "AES256":
        reasons.append(f"encryption {state.encryption or 'none'}, want AES256")
        ops.append("encryption")
    if (state.versioning == "Enabled") != bool(wanted_versioning):
        have = state.versioning or "off"
        reasons.append(f"versioning {have}, want {'Enabled' if wanted_versioning else 'off'}")
        ops.append("versioning")
    have_tls = current_tls_statement(state.policy)
    if tls_wanted(ctx) and have_tls != tls_statement(ctx):
        reasons.append(
            "TLS-only policy statement missing"
            if not have_tls
            else "TLS-only policy statement differs"
        )
        ops.append("policy")
    elif not tls_wanted(ctx) and have_tls:
        why = (
            "the endpoint is plain HTTP" if ctx.spec.bucket.enforce_tls else "enforce_tls is false"
        )
        reasons.append(f"TLS-only policy statement present, {why}")
        ops.append("policy")
    return change_for(KIND, state.name, reasons, ops, exists=True)


def apply(ctx: Context, state: BucketState, change: Change) -> Change:
    if change.action is Action.UNCHANGED:
        return change
    s3 = ctx.client("s3")
    ops = change.ops
    if "create" in ops:
        created = create(ctx, s3)
        state = BucketState(state.name, True)
        if "tags" in ops:
            # Tags are pipectl's proof of ownership, and S3 cannot set them at creation: tag
            # first, and if that fails remove the new bucket, so that no untagged bucket is left
            # that `down` would have to keep as someone else's (and `up` would adopt).
            tag_new_bucket(ctx, s3, state, created)
            ops = tuple(op for op in ops if op != "tags")
    setters = {op: SETTERS[op] for op in ops if op in SETTERS}
    # Each setting is its own API call on an existing bucket: run them side by side.
    with ThreadPoolExecutor(max_workers=len(setters) or 1) as pool:
        futures = [pool.submit(setter, ctx, s3, state) for setter in setters.values()]
        for future in futures:
            future.result()
    return change


def create(ctx: Context, s3: Any) -> bool:
    """CreateBucket with the region rule: us-east-1 takes no LocationConstraint. False when the
    bucket turned out to be ours already (made meanwhile)."""
    kwargs: dict[str, Any] = {"Bucket": ctx.bucket_name}
    if ctx.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    try:
        s3.create_bucket(**kwargs)
        return True
    except Exception as exc:
        code = error_code(exc)
        if code == "BucketAlreadyOwnedByYou":
            return False
        if code == "BucketAlreadyExists":
            raise taken_error(ctx.bucket_name) from None
        raise translate(exc, f"creating bucket {ctx.bucket_name}") from None


def tag_new_bucket(ctx: Context, s3: Any, state: BucketState, created: bool) -> None:
    try:
        set_tags(ctx, s3, state)
    except Exception:
        if created:
            try:
                s3.delete_bucket(Bucket=state.name)  # just made, still empty
            except Exception:
                pass  # the tagging error is the one to report
        raise


def taken_error(name: str) -> AwsError:
    return AwsError(
        f"bucket name {name} is taken by another AWS account (bucket names are global)",
        "set bucket.name in pipectl.yaml to a unique name, e.g. with your initials as a suffix",
        "BucketAlreadyExists",
    )


def set_public_access_block(ctx: Context, s3: Any, state: BucketState) -> None:
    s3.put_public_access_block(
        Bucket=state.name, PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK)
    )


def set_ownership(ctx: Context, s3: Any, state: BucketState) -> None:
    s3.put_bucket_ownership_controls(
        Bucket=state.name,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )


def set_encryption(ctx: Context, s3: Any, state: BucketState) -> None:
    s3.put_bucket_encryption(
        Bucket=state.name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def set_versioning(ctx: Context, s3: Any, state: BucketState) -> None:
    # A bucket once versioned can only be suspended, never unversioned again.
    status = "Enabled" if ctx.spec.bucket.versioning else "Suspended"
    s3.put_bucket_versioning(Bucket=state.name, VersioningConfiguration={"Status": status})


def set_policy(ctx: Context, s3: Any, state: BucketState) -> None:
    policy = merged_policy(ctx, state.policy)
    if policy is None:
        s3.delete_bucket_policy(Bucket=state.name)
    else:
        s3.put_bucket_policy(Bucket=state.name, Policy=json.dumps(policy))


def set_tags(ctx: Context, s3: Any, state: BucketState) -> None:
    s3.put_bucket_tagging(Bucket=state.name, Tagging={"TagSet": tag_list(ctx.spec.tags)})


SETTERS = {
    "public_access_block": set_public_access_block,
    "ownership": set_ownership,
    "encryption": set_encryption,
    "versioning": set_versioning,
    "policy": set_policy,
    "tags": set_tags,
}


def plan_destroy(ctx: Context, state: BucketState, delete_data: bool) -> Change:
    """Delete only a bucket pipectl created; from an adopted one remove only the TLS statement.
    A bucket holding objects (any version or delete marker) is kept unless `delete_data`."""
    if not state.exists:
        return Change(KIND, state.name, Action.UNCHANGED, ("does not exist",))
    if not owned(state.tags, ctx.spec.pipeline):
        if current_tls_statement(state.policy):
            return Change(
                KIND,
                state.name,
                Action.UPDATE,
                ("not created by pipectl: only pipectl's TLS policy statement is removed",),
                ("strip_policy",),
            )
        return Change(KIND, state.name, Action.KEEP, ("not created by pipectl",))
    if is_empty(ctx, state.name):
        return Change(KIND, state.name, Action.DELETE, ("holds no objects",), ("delete",))
    if not delete_data:
        return Change(
            KIND,
            state.name,
            Action.KEEP,
            ("holds objects: pass --delete-data to empty and delete it",),
        )
    return Change(
        KIND,
        state.name,
        Action.DELETE,
        ("with every object version (--delete-data)",),
        ("empty", "delete"),
    )


def is_empty(ctx: Context, name: str) -> bool:
    """No object, no noncurrent version, no delete marker (each would make DeleteBucket fail)."""
    s3 = ctx.client("s3")
    if s3.list_objects_v2(Bucket=name, MaxKeys=1).get("KeyCount", 0):
        return False
    versions = s3.list_object_versions(Bucket=name, MaxKeys=1)
    return not versions.get("Versions") and not versions.get("DeleteMarkers")


EMPTY_ATTEMPTS = 3  # objects may still arrive while the bucket is emptied


def destroy(ctx: Context, state: BucketState, change: Change) -> Change:
    s3 = ctx.client("s3")
    if "strip_policy" in change.ops:
        policy = merged_policy_without_tls(state.policy)
        if policy is None:
            s3.delete_bucket_policy(Bucket=state.name)
        else:
            s3.put_bucket_policy(Bucket=state.name, Policy=json.dumps(policy))
    if "delete" not in change.ops:
        return change
    deleted = 0
    for attempt in range(1, EMPTY_ATTEMPTS + 1):
        if "empty" in change.ops:
            deleted += empty_bucket(s3, state.name)
        try:
            s3.delete_bucket(Bucket=state.name)
            break
        except Exception as exc:
            code = error_code(exc)
            if code == "NoSuchBucket":
                break
            if code != "BucketNotEmpty":
                raise
            if "empty" not in change.ops:
                return replace(
                    change,
                    action=Action.KEEP,
                    reasons=("objects arrived meanwhile: pass --delete-data to delete them too",),
                    ops=(),
                )
            if attempt == EMPTY_ATTEMPTS:
                raise AwsError(
                    f"bucket {state.name} keeps receiving objects while being emptied",
                    "stop whatever uploads to it and run `pipectl down --delete-data` again",
                    code,
                ) from None
    if "empty" in change.ops:
        detail = f"emptied first: {deleted} deleted (every object version and delete marker)"
        return replace(change, reasons=(detail,))
    return change


def merged_policy_without_tls(policy: dict[str, Any] | None) -> dict[str, Any] | None:
    statements = (policy or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    others = [s for s in statements if s.get("Sid") != TLS_SID]
    return {**(policy or {}), "Statement": others} if others else None


def empty_bucket(s3: Any, name: str, page_size: int = 1000) -> int:
    """Delete every object version and delete marker: list the first page (S3 caps it at 1000
    keys, which is also DeleteObjects' limit), delete it in one call, and list again until none
    are left. Starting each listing afresh does not rely on markers of deleted keys. Returns how
    many were deleted."""
    deleted = 0
    while True:
        page = s3.list_object_versions(Bucket=name, MaxKeys=page_size)
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if not keys:
            return deleted
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            response = s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise AwsError(
                    f"could not empty bucket {name}: {first.get('Code')} on {first.get('Key')} "
                    f"({len(response['Errors'])} of {len(batch)} keys failed)",
                    "check object lock / permissions and run `pipectl down --delete-data` again",
                    str(first.get("Code", "")),
                )
            deleted += len(batch)
