"""Small helpers shared by the resource modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MANAGED_BY = "managed-by"
PIPELINE_TAG = "pipectl-pipeline"


def parallel_reads(readers: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent read calls side by side; each is a network round trip on real AWS."""
    if len(readers) <= 1:
        return {name: read() for name, read in readers.items()}
    with ThreadPoolExecutor(max_workers=len(readers)) as pool:
        futures = {name: pool.submit(read) for name, read in readers.items()}
        return {name: future.result() for name, future in futures.items()}


def tags_dict(tag_list: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def owned(tags: Mapping[str, str] | None, pipeline: str) -> bool:
    """pipectl deletes only what carries both of its tags for this pipeline."""
    tags = tags or {}
    return tags.get(MANAGED_BY) == "pipectl" and tags.get(PIPELINE_TAG) == pipeline
