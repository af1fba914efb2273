"""Each AWS service's naming rules. Every check returns None when the name is valid, else a phrase
that completes "`key` ..." in an error message."""

from __future__ import annotations

import ipaddress
import re

BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
TABLE_CHARS = re.compile(r"^[A-Za-z0-9_.-]+$")
FUNCTION_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
ROLE_CHARS = re.compile(r"^[\w+=,.@-]+$")
QUEUE_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
PIPELINE_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(name: str) -> str | None:
    """S3 general purpose bucket naming rules."""
    if not 3 <= len(name) <= 63:
        return f"{name!r} must be 3 to 63 characters long (it is {len(name)})"
    if not BUCKET_CHARS.match(name):
        return (
            f"{name!r} may hold only lowercase letters, digits, dots and hyphens, "
            "and must start and end with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return f"{name!r} must not have two dots, or a dot next to a hyphen"
    if is_ip_address(name):
        return f"{name!r} must not look like an IP address"
    for prefix in BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"{name!r} must not start with the reserved prefix {prefix!r}"
    for suffix in BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"{name!r} must not end with the reserved suffix {suffix!r}"
    return None


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def check_table_name(name: str) -> str | None:
    """DynamoDB: 3-255 characters of a-z A-Z 0-9 _ - ."""
    if not 3 <= len(name) <= 255:
        return f"{name!r} must be 3 to 255 characters long (it is {len(name)})"
    if not TABLE_CHARS.match(name):
        return f"{name!r} may hold only letters, digits, underscores, hyphens and dots"
    return None


def check_function_name(name: str) -> str | None:
    """Lambda: 1-64 characters of letters, digits, hyphens and underscores."""
    if not 1 <= len(name) <= 64:
        return f"{name!r} must be 1 to 64 characters long (it is {len(name)})"
    if not FUNCTION_CHARS.match(name):
        return f"{name!r} may hold only letters, digits, hyphens and underscores"
    return None


def check_role_name(name: str) -> str | None:
    """IAM: 1-64 characters of letters, digits and + = , . @ _ -"""
    if not 1 <= len(name) <= 64:
        return f"role name {name!r} must be 1 to 64 characters long (it is {len(name)})"
    if not ROLE_CHARS.match(name):
        return f"role name {name!r} may hold only letters, digits and + = , . @ _ -"
    return None


def check_queue_name(name: str) -> str | None:
    """SQS: 1-80 characters of letters, digits, hyphens and underscores."""
    if not 1 <= len(name) <= 80:
        return f"gives queue name {name!r}, which must be 1 to 80 characters long"
    if not QUEUE_CHARS.match(name):
        return f"gives queue name {name!r}, which may hold only letters, digits, - and _"
    return None


def check_pipeline_name(name: str) -> str | None:
    """The pipeline name becomes a tag value and part of the role name and notification Id."""
    if not 1 <= len(name) <= 40:
        return f"{name!r} must be 1 to 40 characters long (it is {len(name)})"
    if not PIPELINE_CHARS.match(name):
        return f"{name!r} may hold only letters, digits, hyphens and underscores"
    return None
