"""DynamoDB items as plain JSON values (numbers as int or float), for people and --json."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain JSON-able values (numbers as int or float)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: jsonable(deserializer.deserialize(value)) for name, value in item.items()}


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(getattr(value, "value", None), bytes):  # boto3's Binary
        return value.value.decode("utf-8", "replace")
    return value
