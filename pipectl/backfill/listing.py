"""Which objects a backfill sends: listed with botocore's paginators, several prefixes side by
side, and filtered as the trigger filters them (its prefix and suffix) plus --prefix/--since.

A versioned bucket is listed with ListObjectVersions, keeping the current version of each key
(`IsLatest`): ListObjectsV2 returns no version ids, and the record should name the version it
describes. A key whose current version is a delete marker has no current object and is not sent.
That listing also pages through every older version, so it costs more on a bucket with many.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pipectl.backfill.records import ListedObject
from pipectl.build.packaging import CODE_PREFIX

LIST_PARALLEL = 8  # prefixes listed side by side
SPLIT_DEPTH = 2  # "/" levels looked into for prefixes to list side by side
SPLIT_MAX_PREFIXES = 100  # more would cost more requests than they save (one at least each)
QUEUE_PAGES = 32  # pages listed ahead of the dispatcher, at most (bounds memory)
Page = list[ListedObject]


@dataclass(frozen=True)
class Selection:
    """Which listed objects are sent: under --prefix and the trigger's prefix, ending with the
    trigger's suffix (S3 fires only for those: a backfill must not send what S3 would not), and
    last modified at or after --since. A deployment zip `up` left under CODE_PREFIX is pipectl's,
    not data (the handler skips it too)."""

    prefix: str = ""
    trigger_prefix: str = ""
    trigger_suffix: str = ""
    since_ms: int | None = None

    def listing_prefix(self) -> str | None:
        """The prefix to list: the narrower of the two; None when they exclude each other."""
        narrow, wide = sorted((self.prefix, self.trigger_prefix), key=len, reverse=True)
        return narrow if narrow.startswith(wide) else None

    def matches(self, obj: ListedObject) -> bool:
        if not obj.key.startswith(self.prefix) or not obj.key.startswith(self.trigger_prefix):
            return False
        if not obj.key.endswith(self.trigger_suffix) or obj.key.startswith(CODE_PREFIX):
            return False
        return self.since_ms is None or obj.last_modified.timestamp() * 1000 >= self.since_ms


@dataclass(frozen=True)
class Source:
    """The bucket to list and how."""

    bucket: str
    versioned: bool = False


def from_listing(entry: dict[str, Any], versioned: bool) -> ListedObject:
    version = entry.get("VersionId") if versioned else None
    modified: datetime = entry["LastModified"]
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=timezone.utc)
    return ListedObject(
        key=entry["Key"],
        size=int(entry.get("Size", 0)),
        etag=str(entry.get("ETag", "")),
        last_modified=modified,
        version_id=None if version in (None, "null") else version,  # "null": not versioned
    )


def pages(s3: Any, source: Source, prefix: str) -> Iterator[Page]:
    """Every object under `prefix`, a page at a time (botocore's paginator)."""
    operation = "list_object_versions" if source.versioned else "list_objects_v2"
    for page in s3.get_paginator(operation).paginate(Bucket=source.bucket, Prefix=prefix):
        if source.versioned:
            entries = [v for v in page.get("Versions", []) if v.get("IsLatest")]
        else:
            entries = page.get("Contents", [])
        yield [from_listing(e, source.versioned) for e in entries]


def list_objects(
    s3: Any, source: Source, prefix: str, parallel: int = LIST_PARALLEL
) -> Iterator[Page]:
    """Every object under `prefix`, page by page. With `parallel` > 1 the prefix is first split
    on "/" (up to SPLIT_DEPTH levels, until there are `parallel` parts), then the parts are
    listed side by side; objects directly under a split prefix come with its split."""
    if parallel <= 1:
        yield from pages(s3, source, prefix)
        return
    to_split, whole = [prefix], []
    for _ in range(SPLIT_DEPTH):
        deeper = []
        for part in to_split:
            found = split(s3, source, part)
            if found is None:
                whole.append(part)
                continue
            objects, prefixes = found
            if objects:
                yield objects
            deeper += prefixes
        to_split = deeper
        if not to_split or len(whole) + len(to_split) >= parallel:
            break
    yield from side_by_side(s3, source, whole + to_split, parallel)


def split(s3: Any, source: Source, prefix: str) -> tuple[Page, list[str]] | None:
    """The objects directly under `prefix` and its sub-prefixes (one "/" deeper), from a single
    Delimiter request; None when they do not fit one page or there are more than
    SPLIT_MAX_PREFIXES sub-prefixes (listing the prefix whole is then fewer requests). One call,
    not the paginator: only its first page is wanted."""
    kwargs = {"Bucket": source.bucket, "Prefix": prefix, "Delimiter": "/"}
    if source.versioned:
        response = s3.list_object_versions(**kwargs)
        entries = [v for v in response.get("Versions", []) if v.get("IsLatest")]
    else:
        response = s3.list_objects_v2(**kwargs)
        entries = response.get("Contents", [])
    prefixes = [p["Prefix"] for p in response.get("CommonPrefixes", [])]
    if response.get("IsTruncated") or len(prefixes) > SPLIT_MAX_PREFIXES:
        return None
    return [from_listing(e, source.versioned) for e in entries], prefixes


def side_by_side(s3: Any, source: Source, prefixes: list[str], parallel: int) -> Iterator[Page]:
    """List each prefix in its own thread (at most `parallel` at once); pages in arrival order.
    Stopping early (the consumer closes this generator) stops the listers after their page."""
    if not prefixes:
        return
    done = object()
    pages_ready: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_PAGES)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                pages_ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def list_one(prefix: str) -> None:
        try:
            for objects in pages(s3, source, prefix):
                if stop.is_set():
                    return
                if objects:
                    put(objects)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)
        finally:
            put(done)

    pool = ThreadPoolExecutor(max_workers=min(parallel, len(prefixes)))
    try:
        for prefix in prefixes:
            pool.submit(list_one, prefix)
        remaining = len(prefixes)
        while remaining:
            item = pages_ready.get()
            if item is done:
                remaining -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def selected(s3: Any, source: Source, selection: Selection, parallel: int) -> Iterator[Page]:
    """The objects the backfill is about, page by page (pages may be empty)."""
    prefix = selection.listing_prefix()
    if prefix is None:
        return
    for page in list_objects(s3, source, prefix, parallel):
        yield [obj for obj in page if selection.matches(obj)]
