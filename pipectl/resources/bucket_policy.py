"""pipectl's statement in the bucket policy: deny any request made without TLS. It is merged into
whatever policy the bucket has (an adopted bucket's statements are kept) and left out on a
plain-HTTP endpoint, where it would deny every request."""

from __future__ import annotations

import json
from typing import Any

from pipectl.context import Context
from pipectl.resources.common import unless_missing

TLS_SID = "pipectl-deny-insecure-transport"


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
    return with_tls_statement(current, tls_statement(ctx) if tls_wanted(ctx) else None)


def with_tls_statement(
    policy: dict[str, Any] | None, statement: dict[str, Any] | None
) -> dict[str, Any] | None:
    """`policy` with pipectl's statement replaced by `statement` (None: removed)."""
    policy = dict(policy or {"Version": "2012-10-17", "Statement": []})
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    others = [s for s in statements if s.get("Sid") != TLS_SID]
    if statement is not None:
        others.append(statement)
    if not others:
        return None
    policy["Statement"] = others
    return policy


def current_tls_statement(policy: dict[str, Any] | None) -> dict[str, Any] | None:
    statements = (policy or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return next((s for s in statements if s.get("Sid") == TLS_SID), None)


def read_policy(s3: Any, name: str) -> dict[str, Any] | None:
    response = unless_missing(lambda: s3.get_bucket_policy(Bucket=name), {"NoSuchBucketPolicy"}, {})
    return json.loads(response["Policy"]) if "Policy" in response else None


def write_policy(ctx: Context, name: str, policy: dict[str, Any] | None) -> None:
    s3 = ctx.client("s3")
    if policy is None:
        s3.delete_bucket_policy(Bucket=name)
    else:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
