"""`pipectl results`: the table's items, read with a paginated Scan that stops as soon as
--limit items are found (never a full-table read for a small --limit).

Order: a Scan returns items in the table's hash order; DynamoDB cannot sort it without a sort
key or an index on time. So the items shown are the first --limit the scan meets, sorted newest
first by `processed_at` among themselves -- not the newest items of the whole table, which would
take reading all of it. The view says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipectl.aws import error_code, translate
from pipectl.errors import AwsError
from pipectl.items import plain_item

MIN_PAGE = 100  # items evaluated per Scan page when a --prefix filter drops some of them
MAX_PAGE = 1000


@dataclass(frozen=True)
class Results:
    items: list[dict[str, Any]]
    more: bool  # the scan stopped before the end of the table

    def as_json(self) -> dict[str, Any]:
        return {"count": len(self.items), "items": self.items}


def page_size(limit: int, prefix: str) -> int:
    """Without a filter every item read is returned, so a page of `limit` is exactly enough;
    with one, read bigger pages (still at most 1,000 items each) to find matches in fewer calls."""
    if not prefix:
        return min(limit, MAX_PAGE)
    return min(max(limit, MIN_PAGE), MAX_PAGE)


def read(dynamodb: Any, table: str, partition_key: str, prefix: str, limit: int) -> Results:
    """Up to `limit` items (keys starting with `prefix`), newest `processed_at` first."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "PaginationConfig": {"PageSize": page_size(limit, prefix)},
    }
    if prefix:
        kwargs["FilterExpression"] = "begins_with(#k, :prefix)"
        kwargs["ExpressionAttributeNames"] = {"#k": partition_key}
        kwargs["ExpressionAttributeValues"] = {":prefix": {"S": prefix}}
    items: list[dict[str, Any]] = []
    more = False
    try:
        for page in dynamodb.get_paginator("scan").paginate(**kwargs):
            items += [plain_item(raw) for raw in page.get("Items", [])]
            if len(items) >= limit:
                more = len(items) > limit or "LastEvaluatedKey" in page
                break
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise AwsError(
                f"table {table} does not exist", "run `pipectl up` first (or check --region)"
            ) from None
        raise translate(exc, f"reading table {table}") from None
    return Results(newest_first(items[:limit]), more)


def newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By `processed_at` (ISO-8601 UTC, so text order is time order), newest first; items
    without it last."""
    return sorted(items, key=lambda item: str(item.get("processed_at") or ""), reverse=True)
