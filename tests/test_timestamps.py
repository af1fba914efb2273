"""pipectl.timestamps gives the same moments as botocore's own parser, and pipectl's clients use it
(a listing parsed end to end through moto gives the same LastModified either way)."""

from __future__ import annotations

from datetime import datetime, timedelta

import boto3
import pytest
from botocore.utils import parse_timestamp as botocore_parse
from moto import mock_aws

from pipectl import timestamps
from pipectl.aws import Aws, Target

# The forms S3 writes (ListObjectsV2/ListObjectVersions LastModified: milliseconds and Z), and
# what other services and endpoints may send instead.
SAME_AS_BOTOCORE = [
    "2026-11-29T12:34:56.000Z",
    "2026-11-29T12:34:56.789Z",
    "2026-11-29T12:34:56Z",
    "2026-11-29T12:34:56.5Z",
    "2026-11-29T12:34:56.123456Z",
    "2026-02-28T23:59:59.999Z",
    "2024-02-29T00:00:00.001Z",
    "2026-11-29T12:34:56.789z",
    "2026-11-29T12:34:56+00:00",
    "2026-11-29T12:34:56.250+0000",
    # handed to botocore's parser:
    "2026-11-29T12:34:56.1234567Z",  # more digits than microseconds hold
    "2026-11-29T12:34:56.123+01:00",  # another offset
    "2026-11-29T12:34:56",  # no zone
    "Sun, 29 Nov 2026 12:34:56 GMT",  # RFC 822, as in Last-Modified headers
    "1764419696",  # epoch seconds as text
    1764419696.25,  # epoch seconds, as the JSON protocols pass them
]


@pytest.mark.parametrize("value", SAME_AS_BOTOCORE)
def test_same_moment_as_botocore(value):
    ours, theirs = timestamps.parse_timestamp(value), botocore_parse(value)
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()
    assert (ours.microsecond, ours.tzinfo is None) == (theirs.microsecond, theirs.tzinfo is None)


def test_the_fast_path_reads_fields_and_fraction():
    parsed = timestamps.parse_timestamp("2026-11-29T12:34:56.07Z")
    assert parsed.timetuple()[:6] == (2026, 11, 29, 12, 34, 56)
    assert parsed.microsecond == 70_000
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["2026-13-01T00:00:00Z", "not a time", "2026-11-29T25:00:00Z"])
def test_what_botocore_rejects_is_rejected_the_same_way(value):
    with pytest.raises(ValueError) as theirs:
        botocore_parse(value)
    with pytest.raises(ValueError) as ours:
        timestamps.parse_timestamp(value)
    assert str(ours.value) == str(theirs.value)


def test_pipectl_clients_parse_a_listing_as_botocore_does():
    with mock_aws():
        plain = boto3.client("s3", region_name="us-east-1")
        plain.create_bucket(Bucket="bucket-one")
        for key in ("a", "b/c", "d e+f"):
            plain.put_object(Bucket="bucket-one", Key=key, Body=b"x")
        aws = Aws(Target(region="us-east-1", dummy_credentials=True))
        session = aws.session()
        factory = session.get_component("response_parser_factory")
        assert factory._defaults["timestamp_parser"] is timestamps.parse_timestamp
        ours = aws.client("s3").list_objects_v2(Bucket="bucket-one")["Contents"]
        theirs = plain.list_objects_v2(Bucket="bucket-one")["Contents"]
    assert [o["Key"] for o in ours] == [o["Key"] for o in theirs]
    assert [o["LastModified"] for o in ours] == [o["LastModified"] for o in theirs]
    assert all(isinstance(o["LastModified"], datetime) for o in ours)
