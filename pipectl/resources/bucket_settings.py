"""The bucket's access and data-at-rest settings: Block Public Access, object ownership, default
encryption and versioning. What each should be depends on `security` (README, "Security
levels"); each has a read, a drift check (human reasons, empty when in sync) and a setter.

- standard: SSE-S3 (AES256); versioning per `bucket.versioning`.
- strict: SSE-KMS with the AWS-managed key (aws/s3) and S3 Bucket Keys (fewer KMS requests, so
  lower KMS cost); a customer managed key set by hand is kept. Versioning on, whatever
  `bucket.versioning` says: overwritten and deleted objects stay recoverable (their noncurrent
  versions expire after 30 days, bucket_lifecycle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipectl.context import Context
from pipectl.resources.common import unless_missing

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
KMS_ALGORITHMS = {"aws:kms", "aws:kms:dsse"}


@dataclass(frozen=True)
class Encryption:
    """The bucket's default encryption rule, as read."""

    algorithm: str | None = None  # SSEAlgorithm
    bucket_key: bool = False
    key_id: str | None = None  # KMSMasterKeyID; None means the AWS-managed key


# Reads ----------------------------------------------------------------------------------------


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


def read_encryption(s3: Any, name: str) -> Encryption:
    response = unless_missing(
        lambda: s3.get_bucket_encryption(Bucket=name),
        {"ServerSideEncryptionConfigurationNotFoundError"},
        {},
    )
    rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if not rules:
        return Encryption()
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
    return Encryption(
        default.get("SSEAlgorithm"),
        bool(rules[0].get("BucketKeyEnabled")),
        default.get("KMSMasterKeyID"),
    )


# What is wanted, and drift ----------------------------------------------------------------------


def wanted_versioning(ctx: Context) -> bool:
    return ctx.spec.strict or ctx.spec.bucket.versioning


def public_access_drift(current: dict[str, bool] | None) -> list[str]:
    if current == PUBLIC_ACCESS_BLOCK:
        return []
    off = [k for k, v in PUBLIC_ACCESS_BLOCK.items() if (current or {}).get(k) != v]
    return [f"public access block off ({', '.join(off)})"]


def ownership_drift(current: str | None) -> list[str]:
    if current == "BucketOwnerEnforced":
        return []
    return [f"object ownership {current or 'unset'}, want BucketOwnerEnforced"]


def encryption_drift(ctx: Context, current: Encryption) -> list[str]:
    have = current.algorithm or "none"
    if not ctx.spec.strict:
        return [] if current.algorithm == "AES256" else [f"encryption {have}, want AES256"]
    if current.algorithm not in KMS_ALGORITHMS:
        return [f"encryption {have}, want aws:kms (security: strict)"]
    if not current.bucket_key:
        return ["S3 Bucket Key off, want on (security: strict)"]
    return []


def versioning_drift(ctx: Context, status: str) -> list[str]:
    want = wanted_versioning(ctx)
    if (status == "Enabled") == want:
        return []
    why = " (security: strict)" if want and not ctx.spec.bucket.versioning else ""
    return [f"versioning {status or 'off'}, want {'Enabled' if want else 'off'}{why}"]


# Setters ----------------------------------------------------------------------------------------


def set_public_access_block(ctx: Context, name: str) -> None:
    ctx.client("s3").put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK)
    )


def set_ownership(ctx: Context, name: str) -> None:
    ctx.client("s3").put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )


def set_encryption(ctx: Context, name: str) -> None:
    """SSE-S3, or with `security: strict` SSE-KMS under the AWS-managed key (no KMSMasterKeyID)
    with an S3 Bucket Key."""
    if ctx.spec.strict:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
        rule["BucketKeyEnabled"] = True
    else:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ctx.client("s3").put_bucket_encryption(
        Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]}
    )


def set_versioning(ctx: Context, name: str) -> None:
    # A bucket once versioned can only be suspended, never unversioned again.
    status = "Enabled" if wanted_versioning(ctx) else "Suspended"
    ctx.client("s3").put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
