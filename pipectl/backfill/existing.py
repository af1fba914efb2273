"""Which keys already have an item: BatchGetItem, 100 keys a call (DynamoDB's limit), only the
key attribute projected. DynamoDB may leave part of a request unprocessed (`UnprocessedKeys`,
when a call exceeds throughput or the 16 MB response limit); those keys are asked again with the
shared backoff, as the BatchGetItem documentation asks, until all are answered or the deadline
passes (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipectl.aws import translate
from pipectl.backfill.faults import retryable
from pipectl.errors import AwsError
from pipectl.retry import Backoff, retry

BATCH_GET_KEYS = 100
# 0.05, 0.1, 0.2, ... 5 s: unprocessed keys are usually answered on the next call.
UNPROCESSED = Backoff(0.05, 2.0, 5.0)


class Unprocessed(Exception):
    """DynamoDB answered only part of the request; the rest is asked again."""


@dataclass(frozen=True)
class Table:
    name: str
    partition_key: str


def existing_keys(
    dynamodb: Any,
    table: Table,
    keys: list[str],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline_s: float,
) -> set[str]:
    """The keys among `keys` that have an item in `table`."""
    found: set[str] = set()
    for start in range(0, len(keys), BATCH_GET_KEYS):
        found |= existing_in_one_call(
            dynamodb, table, keys[start : start + BATCH_GET_KEYS], sleep, clock, deadline_s
        )
    return found


def existing_in_one_call(
    dynamodb: Any,
    table: Table,
    keys: list[str],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline_s: float,
) -> set[str]:
    """Up to 100 keys: one BatchGetItem, then one more per round of unprocessed keys."""
    found: set[str] = set()
    pending = [{table.partition_key: {"S": key}} for key in keys]

    def ask() -> None:
        nonlocal pending
        response = dynamodb.batch_get_item(
            RequestItems={
                table.name: {
                    "Keys": pending,
                    "ProjectionExpression": "#k",
                    "ExpressionAttributeNames": {"#k": table.partition_key},
                }
            }
        )
        for item in response.get("Responses", {}).get(table.name, []):
            found.add(item[table.partition_key]["S"])
        pending = response.get("UnprocessedKeys", {}).get(table.name, {}).get("Keys", [])
        if pending:
            raise Unprocessed(f"{len(pending)} keys unprocessed")

    def give_up(exc: BaseException) -> BaseException:
        if isinstance(exc, Unprocessed):
            return AwsError(
                f"DynamoDB left {len(pending)} keys of table {table.name} unprocessed for "
                f"{deadline_s:g} s",
                "the table is throttled: run `pipectl backfill` again later (it continues where "
                "it stopped), or pass --all to skip this check",
                "UnprocessedKeys",
            )
        return translate(exc, f"checking which objects have an item in {table.name}")

    retry(
        ask,
        lambda exc: isinstance(exc, Unprocessed) or retryable(exc),
        deadline_s,
        sleep,
        clock,
        on_give_up=give_up,
        backoff=UNPROCESSED,
    )
    return found
