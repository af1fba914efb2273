"""The table's `security: strict` settings: point-in-time recovery, deletion protection and
encryption under the AWS-managed KMS key (aws/dynamodb). With `security: standard` pipectl
neither checks nor changes them (a table's own PITR or protection is left as it is).

- PITR: restore the table to any second of the last 35 days (UpdateContinuousBackups); billed
  per GB-month of table size.
- deletion protection: DeleteTable fails until it is lifted; `down` lifts it first, and only on a
  table pipectl owns.
- SSE-KMS with the AWS-managed key: the key's use is logged in CloudTrail and governed by KMS;
  each request to the key is billed (DynamoDB caches data keys, so few requests). A customer
  managed key set by hand is kept.
"""

from __future__ import annotations

from typing import Any

from pipectl.aws import error_code
from pipectl.context import Context
from pipectl.retry import retry

# A table created seconds ago may answer this to UpdateContinuousBackups for a while.
BACKUPS_NOT_READY = "ContinuousBackupsUnavailableException"


def strict_create_args(ctx: Context) -> dict[str, Any]:
    """What CreateTable sets at once with `security: strict` (PITR needs its own call)."""
    if not ctx.spec.strict:
        return {}
    return {
        "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
        "DeletionProtectionEnabled": True,
    }


def read_pitr(dynamodb: Any, name: str) -> bool:
    description = dynamodb.describe_continuous_backups(TableName=name)
    recovery = description["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    return recovery.get("PointInTimeRecoveryStatus") == "ENABLED"


def sse_type(table: dict[str, Any]) -> str:
    """KMS when the table is encrypted under a KMS key (AWS-managed or customer managed); ""
    for the default, a key AWS owns."""
    description = table.get("SSEDescription") or {}
    return str(description.get("SSEType", "")) if description.get("Status") == "ENABLED" else ""


def pitr_drift(ctx: Context, enabled: bool | None) -> list[str]:
    if not ctx.spec.strict or enabled:
        return []
    return ["point-in-time recovery off, want on (security: strict)"]


def deletion_protection_drift(ctx: Context, enabled: bool) -> list[str]:
    if not ctx.spec.strict or enabled:
        return []
    return ["deletion protection off, want on (security: strict)"]


def encryption_drift(ctx: Context, sse: str) -> list[str]:
    if not ctx.spec.strict or sse == "KMS":
        return []
    return [f"encryption {'an AWS owned key' if not sse else sse}, want KMS (security: strict)"]


def enable_pitr(ctx: Context, name: str) -> None:
    dynamodb = ctx.client("dynamodb")
    retry(
        lambda: dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        ),
        lambda exc: error_code(exc) == BACKUPS_NOT_READY,
        ctx.deadlines.ready,
        ctx.sleep,
        ctx.clock,
    )


def update_table(ctx: Context, name: str, **changes: Any) -> str:
    """One UpdateTable (DynamoDB takes one kind of change per call); the status it answers."""
    response = ctx.client("dynamodb").update_table(TableName=name, **changes)
    return str(response["TableDescription"].get("TableStatus", ""))
