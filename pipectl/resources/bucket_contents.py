"""What a bucket holds, as far as `down` is concerned: whether any object would make DeleteBucket
fail, whether an interrupted `up` left a deployment package under CODE_PREFIX (pipectl's, so
`down` removes it even from a bucket it keeps), and emptying a bucket page by page."""

from __future__ import annotations

from typing import Any

from pipectl.build.packaging import CODE_PREFIX
from pipectl.errors import AwsError


def holds_objects(s3: Any, name: str) -> bool:
    """Any object, noncurrent version or delete marker (each would make DeleteBucket fail), not
    counting a package `up` left under CODE_PREFIX (interrupted), which `delete` removes."""
    first = s3.list_objects_v2(Bucket=name, MaxKeys=1).get("Contents", [])
    if not first:
        versions = s3.list_object_versions(Bucket=name, MaxKeys=1)
        first = versions.get("Versions", []) + versions.get("DeleteMarkers", [])
    if not first:
        return False
    if not first[0]["Key"].startswith(CODE_PREFIX):
        return True
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=name)
    return any(
        not entry["Key"].startswith(CODE_PREFIX)
        for page in pages
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
    )


def holds_leftover_code(s3: Any, name: str) -> bool:
    """Any version of a deployment package `up` put under CODE_PREFIX and did not get to remove
    (it removes each once the function has its code)."""
    page = s3.list_object_versions(Bucket=name, Prefix=CODE_PREFIX, MaxKeys=1)
    return bool(page.get("Versions") or page.get("DeleteMarkers"))


def remove_leftover_code(s3: Any, name: str) -> int:
    """Delete every version of pipectl's leftover packages, nothing else."""
    return empty_bucket(s3, name, prefix=CODE_PREFIX)


def empty_bucket(s3: Any, name: str, page_size: int = 1000, prefix: str = "") -> int:
    """Delete every object version and delete marker: list the first page (S3 caps it at 1000
    keys, which is also DeleteObjects' limit), delete it in one call, and list again until none
    are left. Starting each listing afresh does not rely on markers of deleted keys. Returns how
    many were deleted."""
    deleted = 0
    while True:
        page = s3.list_object_versions(Bucket=name, MaxKeys=page_size, Prefix=prefix)
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if not keys:
            return deleted
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            response = s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise AwsError(
                    f"could not empty bucket {name}: {first.get('Code')} on {first.get('Key')} "
                    f"({len(response['Errors'])} of {len(batch)} keys failed)",
                    "check object lock / permissions and run `pipectl down --delete-data` again",
                    str(first.get("Code", "")),
                )
            deleted += len(batch)
