"""benchmarks/backfill_stand_in.py, the stand-in for AWS's side of the backfill benchmark's
section 1b: it must list as S3 does (botocore parses its pages, pipectl sends every object) and
its check must fail when a run did not send what was listed."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest
from backfill_helpers import document

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from backfill_stand_in import BUCKET, NOWHERE, StandIn, StandInMismatch  # noqa: E402

COUNT = 2_500


def bench_keys(count: int) -> list[str]:
    """As benchmarks/bench_backfill.py names them: 20 prefixes, a space, a plus, an accent."""
    return [f"incoming/{i % 20:02d}/photo {i:05d}+é.jpg" for i in range(count)]


@pytest.fixture
def stand_in(runtime) -> StandIn:
    made = StandIn(bench_keys(COUNT))
    made.prerender()
    runtime.hooks.append(made.hook)
    return made


def test_a_backfill_against_the_stand_in_sends_every_listed_object(cli, stand_in):
    result = cli("backfill", "--endpoint-url", NOWHERE, "--yes", "--json")
    doc = document(result)
    assert result.exit_code == 0, result.stderr
    assert (doc["objects"], doc["dispatched"], doc["invocations"]) == (COUNT, COUNT, 25)
    stand_in.check(doc)  # raises on any difference; its failing is tested below
    # Two Delimiter requests split the bucket, then one page for each of the 20 prefixes; every
    # page was rendered before the run.
    assert stand_in.calls["ListObjectsV2"] == 22
    assert stand_in.calls["BatchGetItem"] == stand_in.calls["Invoke"] == 25
    assert stand_in.rendered_late == 0


def test_the_check_fails_when_a_record_is_missing(cli, stand_in):
    doc = document(cli("backfill", "--endpoint-url", NOWHERE, "--yes", "--json"))
    stand_in.invokes.pop()
    stand_in.calls["Invoke"] -= 1
    with pytest.raises(StandInMismatch, match="records sent"):
        stand_in.check(doc)
    with pytest.raises(StandInMismatch, match="pipectl reported"):
        stand_in.check({**doc, "dispatched": COUNT - 100})


def test_pages_follow_max_keys_start_after_and_continuation_tokens():
    """Through botocore's own paginator and parser, as pipectl lists."""
    keys = bench_keys(COUNT)
    s3 = boto3.client("s3", endpoint_url=NOWHERE, region_name="us-east-1")
    StandIn(keys).hook(s3)
    want = sorted((k for k in keys if k.startswith("incoming/03/")), key=str.encode)
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="incoming/03/", StartAfter=want[9], PaginationConfig={"PageSize": 7}
    )
    listed = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    assert listed == want[10:]
    top = s3.list_objects_v2(Bucket=BUCKET, Prefix="incoming/", Delimiter="/", MaxKeys=5)
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == [f"incoming/{i:02d}/" for i in range(5)]
    assert top["IsTruncated"] and top["KeyCount"] == 5 and "Contents" not in top
    first = s3.list_objects_v2(Bucket=BUCKET, Prefix="incoming/00/", MaxKeys=1)["Contents"][0]
    assert first["Size"] == 1000 and first["ETag"].startswith('"')
    assert first["LastModified"].year == 2026 and first["StorageClass"] == "STANDARD"
