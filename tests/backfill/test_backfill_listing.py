"""Listing: every object exactly once whether prefixes are listed side by side or not, the
trigger's prefix/suffix and --prefix/--since honoured, current versions of a versioned bucket."""

from __future__ import annotations

import boto3
import pytest
from backfill_helpers import BUCKET, put_objects, small_pages

from pipectl.backfill.listing import Selection, Source, list_objects, selected

KEYS = [
    "top.txt",
    "a b.txt",
    "c+d.jpg",
    "incoming/é/deep/x y+z.jpg",
    "incoming/2026/11/report.csv",
    "incoming/photo.jpg",
    "other/notes.txt",
] + [f"bulk/{i % 4}/item-{i}.jpg" for i in range(40)]


@pytest.fixture
def s3(mocked):
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    put_objects(KEYS)
    small_pages(3)(client)  # many pages from a small bucket
    return client


def listed(pages) -> list[str]:
    return [obj.key for page in pages for obj in page]


@pytest.mark.parametrize("parallel", [1, 2, 8])
def test_every_object_once_whatever_the_parallelism(s3, parallel):
    keys = listed(list_objects(s3, Source(BUCKET), "", parallel))
    assert sorted(keys) == sorted(KEYS)


def test_a_prefix_is_split_on_its_own_first_level(s3):
    keys = listed(list_objects(s3, Source(BUCKET), "incoming/", parallel=4))
    assert sorted(keys) == sorted(k for k in KEYS if k.startswith("incoming/"))


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(), KEYS),
        (Selection(trigger_suffix=".jpg"), [k for k in KEYS if k.endswith(".jpg")]),
        (Selection(trigger_prefix="incoming/"), [k for k in KEYS if k.startswith("incoming/")]),
        (
            Selection(prefix="incoming/2026", trigger_prefix="incoming/"),
            ["incoming/2026/11/report.csv"],
        ),
        (
            Selection(prefix="incoming/", trigger_prefix="incoming/é", trigger_suffix=".jpg"),
            ["incoming/é/deep/x y+z.jpg"],
        ),
        (Selection(prefix="other/", trigger_prefix="incoming/"), []),  # S3 fires for none
    ],
)
def test_only_what_the_trigger_would_fire_for(s3, selection, expected):
    assert sorted(listed(selected(s3, Source(BUCKET), selection, 4))) == sorted(expected)


def test_a_deployment_zip_passing_through_the_bucket_is_not_data(s3):
    put_objects([".pipectl/code/serverless-data-processor/abc.zip", ".pipectl-notes.txt"])
    keys = listed(selected(s3, Source(BUCKET), Selection(), 4))
    assert ".pipectl-notes.txt" in keys
    assert not [k for k in keys if k.startswith(".pipectl/code/")]


def test_since_keeps_objects_modified_at_or_after_it(s3):
    (first,) = [o for p in list_objects(s3, Source(BUCKET), "top", 1) for o in p]
    modified_ms = int(first.last_modified.timestamp() * 1000)
    assert listed(selected(s3, Source(BUCKET), Selection("top", since_ms=modified_ms), 1))
    later = Selection("top", since_ms=modified_ms + 1000)
    assert listed(selected(s3, Source(BUCKET), later, 1)) == []


def test_objects_carry_what_the_record_needs(s3):
    (obj,) = [o for p in list_objects(s3, Source(BUCKET), "c+d", 1) for o in p]
    assert obj.size == 4 and obj.etag.strip('"') and obj.version_id is None
    assert obj.last_modified.tzinfo is not None


def test_a_versioned_bucket_sends_the_current_version_and_no_deleted_key(mocked):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="dir/a.txt", Body=b"old")
    latest = s3.put_object(Bucket=BUCKET, Key="dir/a.txt", Body=b"newer")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="dir/gone.txt", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="dir/gone.txt")
    small_pages(1)(s3)
    objects = [o for p in list_objects(s3, Source(BUCKET, versioned=True), "", 4) for o in p]
    assert [(o.key, o.version_id, o.size) for o in objects] == [("dir/a.txt", latest, 5)]


def test_a_lister_error_reaches_the_consumer(s3):
    from pipectl.backfill import listing

    def fail(params, **_):
        if params.get("Prefix") == "bulk/":
            raise RuntimeError("listing bulk/ failed")

    s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", fail)
    with pytest.raises(RuntimeError, match="listing bulk/ failed"):
        listed(listing.list_objects(s3, Source(BUCKET), "", 4))


def test_stopping_early_leaves_no_lister_running(s3):
    import threading

    pages = list_objects(s3, Source(BUCKET), "", 4)
    next(pages)
    next(pages)
    pages.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")]


def listed_prefixes(s3) -> list[tuple[str, bool]]:
    """(Prefix, with a Delimiter) of every ListObjectsV2 request the client makes."""
    seen: list[tuple[str, bool]] = []
    s3.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **_: seen.append((params.get("Prefix", ""), "Delimiter" in params)),
    )
    return seen


def test_a_single_top_level_prefix_is_split_one_level_deeper(mocked):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    keys = ["root.txt", "only/direct.txt"] + [f"only/{i}/k{j}" for i in range(5) for j in range(4)]
    put_objects(keys)
    seen = listed_prefixes(s3)
    assert sorted(listed(list_objects(s3, Source(BUCKET), "", 8))) == sorted(keys)
    assert [p for p, split in seen if split] == ["", "only/"]
    assert sorted(p for p, split in seen if not split) == [f"only/{i}/" for i in range(5)]


@pytest.mark.parametrize("why", ["many prefixes", "truncated"])
def test_a_level_too_wide_to_split_is_listed_whole(mocked, why):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    keys = [f"p{i:03d}/k" for i in range(101)] if why == "many prefixes" else ["a/1", "b/2"]
    put_objects(keys)
    if why == "truncated":
        s3.meta.events.register(
            "before-parameter-build.s3.ListObjectsV2",
            lambda params, **_: params.update(MaxKeys=1),
        )
    seen = listed_prefixes(s3)
    assert sorted(listed(list_objects(s3, Source(BUCKET), "", 8))) == sorted(keys)
    assert [p for p, split in seen if split] == [""]
    assert {p for p, split in seen if not split} == {""}  # one listing of it all
