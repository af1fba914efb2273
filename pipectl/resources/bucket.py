"""The input bucket: created private (Block Public Access x4, BucketOwnerEnforced, default
encryption), with versioning, pipectl's lifecycle rules merged into any existing ones and a
TLS-only policy statement merged into any existing policy. What each setting should be lives
beside it: bucket_settings.py, bucket_lifecycle.py, bucket_policy.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pipectl.aws import error_code, http_status, translate
from pipectl.context import Context
from pipectl.errors import AwsError
from pipectl.plan import Action, Change, change_for, change_for_drifts
from pipectl.plan import Op as BaseOp
from pipectl.resources.base import ResourceState
from pipectl.resources.bucket_contents import (
    empty_bucket,
    holds_leftover_code,
    holds_objects,
    remove_leftover_code,
)
from pipectl.resources.bucket_lifecycle import (
    lifecycle_drift,
    merged,
    ours,
    read_rules,
    wanted_rules,
    write_rules,
)
from pipectl.resources.bucket_policy import (
    TLS_SID,  # noqa: F401  (re-exported)
    current_tls_statement,
    merged_policy,
    read_policy,
    tls_statement,
    tls_wanted,
    with_tls_statement,
    write_policy,
)
from pipectl.resources.bucket_settings import (
    PUBLIC_ACCESS_BLOCK,  # noqa: F401  (re-exported)
    Encryption,
    encryption_drift,
    ownership_drift,
    public_access_drift,
    read_encryption,
    read_ownership,
    read_public_access_block,
    set_encryption,
    set_ownership,
    set_public_access_block,
    set_versioning,
    versioning_drift,
    wanted_versioning,
)
from pipectl.resources.common import (
    parallel_reads,
    perform,
    tag_list,
    tags_dict,
    teardown_verdict,
    unless_missing,
)

KIND = "bucket"


class Op(BaseOp):
    CREATE = "create", "s3.CreateBucket"
    TAGS = "tags", "s3.PutBucketTagging"
    PUBLIC_ACCESS_BLOCK = "public_access_block", "s3.PutPublicAccessBlock"
    OWNERSHIP = "ownership", "s3.PutBucketOwnershipControls"
    ENCRYPTION = "encryption", "s3.PutBucketEncryption"
    VERSIONING = "versioning", "s3.PutBucketVersioning"
    LIFECYCLE = "lifecycle", "s3.PutBucketLifecycleConfiguration"
    POLICY = "policy", "s3.PutBucketPolicy"
    STRIP_POLICY = "strip_policy", "s3.PutBucketPolicy"
    STRIP_LIFECYCLE = "strip_lifecycle", "s3.PutBucketLifecycleConfiguration"
    EMPTY = "empty", "s3.ListObjectVersions", "s3.DeleteObjects"
    REMOVE_CODE = "remove_code", "s3.ListObjectVersions", "s3.DeleteObjects"
    DELETE = "delete", "s3.DeleteBucket"


# The trigger needs the bucket to exist, tagged; its other settings are put meanwhile (new
# buckets already block public access, disable ACLs and encrypt with SSE-S3 by default: AWS
# What's New 2022-12 "automatically enable block public access", S3 default-encryption FAQ).
LATE_OPS = (
    Op.PUBLIC_ACCESS_BLOCK,
    Op.OWNERSHIP,
    Op.ENCRYPTION,
    Op.VERSIONING,
    Op.LIFECYCLE,
    Op.POLICY,
)

MISSING_CODES = {"NoSuchBucket", "404", "NotFound"}


@dataclass(frozen=True, kw_only=True)
class BucketState(ResourceState):
    versioning: str = ""  # "", "Enabled" or "Suspended"
    public_access_block: dict[str, bool] | None = None
    ownership: str | None = None
    encryption: Encryption = Encryption()
    lifecycle: list[dict[str, Any]] | None = None  # every rule, pipectl's and others'
    policy: dict[str, Any] | None = None
    holds_objects: bool | None = None  # read only for teardown
    leftover_code: bool | None = None  # read only for teardown: a package `up` left (interrupted)


def read(ctx: Context) -> BucketState:
    """Every setting in one round trip: GetBucketVersioning is the probe (a missing bucket
    answers NoSuchBucket, one owned by another account AccessDenied) and the other reads go out
    beside it, each answering "missing" alike when the bucket is (5 wasted reads on a first run,
    one round trip fewer on every other). For `down` also whether it holds any object."""
    s3 = ctx.client("s3")
    name = ctx.bucket_name
    readers: dict[str, Callable[[], Any]] = {
        "versioning": lambda: probe_versioning(s3, name),
        "public_access_block": lambda: read_public_access_block(s3, name),
        "ownership": lambda: read_ownership(s3, name),
        "encryption": lambda: read_encryption(s3, name),
        "lifecycle": lambda: read_rules(s3, name),
        "policy": lambda: read_policy(s3, name),
    }
    if ctx.with_tags or ctx.teardown:
        readers["tags"] = lambda: read_tags(s3, name)
    if ctx.teardown:
        readers["holds_objects"] = lambda: holds_objects(s3, name)
        readers["leftover_code"] = lambda: holds_leftover_code(s3, name)
    values = parallel_reads(  # the probe's verdict (missing, taken) comes first
        {
            key: (read if key == "versioning" else unless_bucket_missing(read))
            for key, read in readers.items()
        }
    )
    if values["versioning"] is None:
        return BucketState(name=name, exists=False)
    return BucketState(name=name, exists=True, **values)


def probe_versioning(s3: Any, name: str) -> str | None:
    """The versioning status, or None when the bucket does not exist."""
    try:
        return s3.get_bucket_versioning(Bucket=name).get("Status", "")
    except Exception as exc:
        if error_code(exc) in MISSING_CODES:
            return None
        if error_code(exc) in {"AccessDenied", "403"} or http_status(exc) == 403:
            raise taken_error(name) from None
        raise translate(exc, f"reading bucket {name}") from None


def unless_bucket_missing(read: Callable[[], Any]) -> Callable[[], Any]:
    return lambda: unless_missing(read, MISSING_CODES, None)  # the probe says what None means


def read_tags(s3: Any, name: str) -> dict[str, str]:
    response = unless_missing(lambda: s3.get_bucket_tagging(Bucket=name), {"NoSuchTagSet"}, {})
    return tags_dict(response.get("TagSet", []))


def plan(ctx: Context, state: BucketState) -> Change:
    if not state.exists:
        ops = [Op.CREATE, Op.TAGS, Op.PUBLIC_ACCESS_BLOCK, Op.OWNERSHIP, Op.ENCRYPTION]
        if wanted_versioning(ctx):
            ops.append(Op.VERSIONING)
        ops.append(Op.LIFECYCLE)
        if tls_wanted(ctx):
            ops.append(Op.POLICY)
        return change_for(KIND, state.name, ["missing"], ops, exists=False)
    drifts = (
        (public_access_drift(state.public_access_block), Op.PUBLIC_ACCESS_BLOCK),
        (ownership_drift(state.ownership), Op.OWNERSHIP),
        (encryption_drift(ctx, state.encryption), Op.ENCRYPTION),
        (versioning_drift(ctx, state.versioning), Op.VERSIONING),
        (lifecycle_drift(ctx, state.lifecycle), Op.LIFECYCLE),
        (policy_drift(ctx, state.policy), Op.POLICY),
    )
    return change_for_drifts(KIND, state.name, drifts)


def policy_drift(ctx: Context, policy: dict[str, Any] | None) -> list[str]:
    have_tls = current_tls_statement(policy)
    if tls_wanted(ctx) and have_tls != tls_statement(ctx):
        return [
            "TLS-only policy statement missing"
            if not have_tls
            else "TLS-only policy statement differs"
        ]
    if not tls_wanted(ctx) and have_tls:
        why = (
            "the endpoint is plain HTTP" if ctx.spec.bucket.enforce_tls else "enforce_tls is false"
        )
        return [f"TLS-only policy statement present, {why}"]
    return []


def apply(ctx: Context, state: BucketState, change: Change) -> Change:
    if change.action is Action.UNCHANGED:
        return change
    ops = list(change.ops)
    if Op.CREATE in ops:
        created = create(ctx, ctx.client("s3"))
        state = BucketState(name=state.name, exists=True)
        if Op.TAGS in ops:
            # Tags are pipectl's proof of ownership, and S3 cannot set them at creation: tag
            # first, and if that fails remove the new bucket, so that no untagged bucket is left
            # that `down` would have to keep as someone else's (and `up` would adopt).
            tag_new_bucket(ctx, state, created)
        ops = [op for op in ops if op not in {Op.CREATE, Op.TAGS}]
    # Each setting is its own API call on an existing bucket: run them side by side.
    perform(ctx, state, ops, PERFORM, parallel=True)
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


def tag_new_bucket(ctx: Context, state: BucketState, created: bool) -> None:
    try:
        set_tags(ctx, state)
    except Exception as tagging_error:
        if created:
            try:
                ctx.client("s3").delete_bucket(Bucket=state.name)  # just made, still empty
            except Exception as exc:  # the tagging error is the one to report; say both
                raise AwsError(
                    f"tagging new bucket {state.name} failed ({translate(tagging_error).message}) "
                    f"and removing it failed too ({translate(exc).message})",
                    f"delete the untagged bucket yourself: aws s3 rb s3://{state.name}",
                ) from None
        raise


def taken_error(name: str) -> AwsError:
    return AwsError(
        f"bucket name {name} is taken by another AWS account (bucket names are global)",
        "set bucket.name in pipectl.yaml to a unique name, e.g. with your initials as a suffix",
        "BucketAlreadyExists",
    )


def set_policy(ctx: Context, state: BucketState) -> None:
    write_policy(ctx, state.name, merged_policy(ctx, state.policy))


def strip_tls_statement(ctx: Context, state: BucketState) -> None:
    write_policy(ctx, state.name, with_tls_statement(state.policy, None))


def set_tags(ctx: Context, state: BucketState) -> None:
    s3 = ctx.client("s3")
    s3.put_bucket_tagging(Bucket=state.name, Tagging={"TagSet": tag_list(ctx.spec.tags)})


def set_lifecycle(ctx: Context, state: BucketState) -> None:
    write_rules(ctx, state.name, merged(state.lifecycle, wanted_rules(ctx)))


def strip_lifecycle(ctx: Context, state: BucketState) -> None:
    write_rules(ctx, state.name, merged(state.lifecycle, []))


PERFORM = {
    Op.TAGS: set_tags,
    Op.PUBLIC_ACCESS_BLOCK: lambda ctx, state: set_public_access_block(ctx, state.name),
    Op.OWNERSHIP: lambda ctx, state: set_ownership(ctx, state.name),
    Op.ENCRYPTION: lambda ctx, state: set_encryption(ctx, state.name),
    Op.VERSIONING: lambda ctx, state: set_versioning(ctx, state.name),
    Op.LIFECYCLE: set_lifecycle,
    Op.POLICY: set_policy,
    Op.STRIP_POLICY: strip_tls_statement,
    Op.STRIP_LIFECYCLE: strip_lifecycle,
    Op.REMOVE_CODE: lambda ctx, state: remove_leftover_code(ctx.client("s3"), state.name),
}


def plan_destroy(ctx: Context, state: BucketState) -> Change:
    """Delete only a bucket pipectl created; from an adopted one remove only pipectl's additions
    (its TLS statement and lifecycle rules). A bucket holding objects (any version or delete
    marker) is kept unless `ctx.delete_data`."""
    verdict = teardown_verdict(KIND, state, ctx.spec.pipeline)
    if verdict is not None:
        return strip_additions(state) if verdict.action is Action.KEEP else verdict
    if not state.holds_objects:
        if state.leftover_code:  # removed first, so that DeleteBucket finds the bucket empty
            reason = "holds no objects but pipectl's leftover deployment package"
            return Change(KIND, state.name, Action.DELETE, (reason,), (Op.REMOVE_CODE, Op.DELETE))
        return Change(KIND, state.name, Action.DELETE, ("holds no objects",), (Op.DELETE,))
    if not ctx.delete_data:
        kept = "holds objects: pass --delete-data to empty and delete it"
        if state.leftover_code:
            reason = f"{kept}; only pipectl's leftover deployment package removed"
            return Change(KIND, state.name, Action.UPDATE, (reason,), (Op.REMOVE_CODE,))
        return Change(KIND, state.name, Action.KEEP, (kept,))
    return Change(
        KIND,
        state.name,
        Action.DELETE,
        ("with every object version (--delete-data)",),
        (Op.EMPTY, Op.DELETE),
    )


def strip_additions(state: BucketState) -> Change:
    """An adopted bucket keeps everything but pipectl's policy statement, lifecycle rules and any
    deployment package an interrupted `up` left in it (its encryption and versioning stay as
    they are: weakening them is not pipectl's call)."""
    ops, what = [], []
    if current_tls_statement(state.policy):
        ops.append(Op.STRIP_POLICY)
        what.append("TLS policy statement")
    if ours(state.lifecycle):
        ops.append(Op.STRIP_LIFECYCLE)
        what.append("lifecycle rules")
    if state.leftover_code:
        ops.append(Op.REMOVE_CODE)
        what.append("leftover deployment package")
    if not ops:
        return Change(KIND, state.name, Action.KEEP, ("not created by pipectl",))
    reason = f"not created by pipectl: only pipectl's {', '.join(what)} removed"
    return Change(KIND, state.name, Action.UPDATE, (reason,), tuple(ops))


EMPTY_ATTEMPTS = 3  # objects may still arrive while the bucket is emptied


def destroy(ctx: Context, state: BucketState, change: Change) -> Change:
    perform(ctx, state, [op for op in change.ops if op in PERFORM], PERFORM, parallel=True)
    if Op.DELETE in change.ops:
        return delete(ctx, state, change)
    return change


def delete(ctx: Context, state: BucketState, change: Change) -> Change:
    """DeleteBucket, emptying it first with --delete-data. Objects may arrive meanwhile: then the
    bucket is kept (without --delete-data) or emptied again, a bounded number of times."""
    s3 = ctx.client("s3")
    empty_first = Op.EMPTY in change.ops
    deleted = 0
    for attempt in range(1, EMPTY_ATTEMPTS + 1):
        if empty_first:
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
            if not empty_first:
                if attempt < EMPTY_ATTEMPTS and remove_leftover_code(s3, state.name):
                    continue  # pipectl's own leftover package was in the way
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
    if empty_first:
        detail = f"emptied first: {deleted} deleted (every object version and delete marker)"
        return replace(change, reasons=(detail,))
    return change
