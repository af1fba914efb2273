"""pipectl's rules in the bucket's lifecycle configuration, merged into whatever rules the bucket
already has (an adopted bucket's rules are kept, never replaced). PutBucketLifecycleConfiguration
replaces the whole configuration, so pipectl reads it, upserts its own rules (by their IDs) and
writes every other rule back untouched; `down` of an adopted bucket removes only pipectl's rules.

- always: abort multipart uploads left incomplete for 7 days (their parts are stored, and billed,
  until then, invisible in listings).
- `security: strict`: noncurrent object versions expire 30 days after they were replaced or
  deleted, so versioning keeps a month of undo without keeping every version forever.
"""

from __future__ import annotations

from typing import Any

from pipectl.context import Context
from pipectl.resources.common import unless_missing

ABORT_ID = "pipectl-abort-incomplete-uploads"
NONCURRENT_ID = "pipectl-expire-noncurrent-versions"
PIPECTL_IDS = (ABORT_ID, NONCURRENT_ID)
ABORT_AFTER_DAYS = 7
NONCURRENT_DAYS = 30


def wanted_rules(ctx: Context) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {
            "ID": ABORT_ID,
            "Status": "Enabled",
            "Filter": {},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_AFTER_DAYS},
        }
    ]
    if ctx.spec.strict:
        rules.append(
            {
                "ID": NONCURRENT_ID,
                "Status": "Enabled",
                "Filter": {},
                "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
            }
        )
    return rules


def read_rules(s3: Any, name: str) -> list[dict[str, Any]]:
    response = unless_missing(
        lambda: s3.get_bucket_lifecycle_configuration(Bucket=name),
        {"NoSuchLifecycleConfiguration"},
        {},
    )
    return list(response.get("Rules", []))


def ours(rules: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [r for r in rules or [] if r.get("ID") in PIPECTL_IDS]


def comparable(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as S3 may echo it: an empty filter comes back as {} or {"Prefix": ""}."""
    filters = rule.get("Filter") or {}
    if filters in ({}, {"Prefix": ""}):
        filters = {}
    return {**rule, "Filter": filters}


def lifecycle_drift(ctx: Context, rules: list[dict[str, Any]] | None) -> list[str]:
    have = {r["ID"]: comparable(r) for r in ours(rules)}
    want = {r["ID"]: comparable(r) for r in wanted_rules(ctx)}
    drift = []
    for rule_id in want:
        if rule_id not in have:
            drift.append(f"lifecycle rule {rule_id} missing")
        elif have[rule_id] != want[rule_id]:
            drift.append(f"lifecycle rule {rule_id} differs")
    for rule_id in have.keys() - want.keys():
        drift.append(f"lifecycle rule {rule_id} present, not wanted (security: standard)")
    return drift


def merged(current: list[dict[str, Any]] | None, wanted: list[dict[str, Any]]) -> list[dict]:
    """Every rule that is not pipectl's, as it was, then pipectl's wanted rules."""
    others = [r for r in current or [] if r.get("ID") not in PIPECTL_IDS]
    return others + wanted


def write_rules(ctx: Context, name: str, rules: list[dict[str, Any]]) -> None:
    s3 = ctx.client("s3")
    if rules:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    else:
        s3.delete_bucket_lifecycle(Bucket=name)
