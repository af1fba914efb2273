"""A faster timestamp parser for botocore's responses, same results.

botocore parses every timestamp in a response with `botocore.utils.parse_timestamp`, which hands
ISO-8601 text to dateutil's general parser: about 0.1 ms per value. A ListObjectsV2 page carries
one LastModified per object, so for `pipectl backfill` that was the largest single cost per
object (about a third of pipectl's CPU). S3 and the other XML services write timestamps in one
fixed form (`2026-11-29T12:00:00.000Z`, ISO-8601 in UTC, the `timestampFormat` "iso8601" of
their models), which a regular expression reads in a few microseconds. Anything else (other
offsets, RFC 822 dates in headers, epoch numbers from the JSON protocols, odd precision) goes to
botocore's own parser, so every value parses to the same moment as before.

Installed on pipectl's botocore session (aws.py) through botocore's documented hook for it:
`session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=...)`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from dateutil.tz import tzutc

# YYYY-MM-DDTHH:MM:SS, optional fraction of up to 6 digits (microseconds), then Z or +00:00.
ISO_UTC = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:[Zz]|\+00:?00)"
)
UTC = tzutc()  # what dateutil (and so botocore) gives a "GMT" time; equal to any UTC tzinfo


def parse_timestamp(value: Any) -> datetime:
    """`value` as an aware datetime, exactly the moment botocore's parse_timestamp gives."""
    if isinstance(value, str):
        match = ISO_UTC.fullmatch(value)
        if match is not None:
            year, month, day, hour, minute, second, fraction = match.groups()
            try:
                return datetime(
                    int(year),
                    int(month),
                    int(day),
                    int(hour),
                    int(minute),
                    int(second),
                    int(fraction.ljust(6, "0")) if fraction else 0,
                    tzinfo=UTC,
                )
            except ValueError:  # e.g. second 60 or month 13: botocore says what it makes of it
                pass
    from botocore.utils import parse_timestamp as botocore_parse

    return botocore_parse(value)


def install(session: Any) -> None:
    """Make every client created from this botocore `session` parse timestamps with
    parse_timestamp (clients created before keep their parser)."""
    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)
