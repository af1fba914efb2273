"""The rules behind the config schema's fields: each check returns None when the value is fine,
else a phrase completing "`key` ..." in an error message; `rule` turns one into a schema
validator (pipectl/config/schema.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from pipectl.config.schema import AfterValidator, BeforeValidator

S3_OBJECT_CREATED_EVENTS = (
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
)
S3_OTHER_EVENTS = (
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
)
S3_EVENTS = S3_OBJECT_CREATED_EVENTS + S3_OTHER_EVENTS
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


def rule(check: Callable[[Any], str | None]) -> AfterValidator:
    """A validator from one of pipectl's checks (names.py and the ones below)."""

    def validate(value: Any) -> Any:
        problem = check(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


def in_range(low: int, high: int, unit: str = "") -> AfterValidator:
    suffix = f" {unit}" if unit else ""
    return rule(
        lambda value: (
            None
            if low <= value <= high
            else f"is {value}; must be between {low} and {high}{suffix}"
        )
    )


def one_of(choices: tuple[Any, ...]) -> AfterValidator:
    shown = ", ".join(str(c) for c in choices)
    return rule(lambda value: None if value in choices else f"is {value!r}; allowed: {shown}")


def check_region(region: str | None) -> str | None:
    if region is None or REGION_PATTERN.match(region):
        return None
    return f"{region!r} is not an AWS region name (e.g. us-east-1, eu-west-2)"


def check_events(events: tuple[str, ...]) -> str | None:
    if not events:
        return "is empty; list at least one event, e.g. s3:ObjectCreated:*"
    for event in events:
        if event not in S3_EVENTS:
            return f"has unknown event {event!r}; use e.g. s3:ObjectCreated:*"
    return None


def check_filter(value: str) -> str | None:
    if len(value.encode("utf-8")) > 1024:
        return "is longer than 1024 bytes (the S3 object key limit)"
    return None


def check_attribute_name(name: str) -> str | None:
    if 1 <= len(name.encode("utf-8")) <= 255:
        return None
    return "must be 1 to 255 bytes long (DynamoDB key attribute name)"


def check_price(value: float | None) -> str | None:
    if value is None or (math.isfinite(value) and value >= 0):
        return None
    return f"is {value}; a price must be a number of US dollars, 0 or more"


def int_as_float(value: Any) -> Any:
    """YAML reads `1` as an int; a price may be written without a decimal point."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def none_as(default: Any) -> BeforeValidator:
    """`key: null` (or an empty section) in YAML means the default."""
    return BeforeValidator(lambda value: default if value is None else value)


def list_as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def optional(check: Callable[[str], str | None]) -> AfterValidator:
    """A rule for a field that may be null (null is always fine)."""
    return rule(lambda value: None if value is None else check(value))
