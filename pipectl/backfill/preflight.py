"""Before listing anything: the bucket, the table and the function must exist (one round trip,
four reads side by side), and the bucket's region and versioning decide what the records carry."""

from __future__ import annotations

from typing import Any

from pipectl.aws import error_code, translate
from pipectl.backfill.existing import Table
from pipectl.backfill.listing import Source
from pipectl.backfill.records import Destination
from pipectl.backfill.run import Target
from pipectl.context import Context
from pipectl.errors import AwsError
from pipectl.resources.common import parallel_reads

MISSING = {"404", "NoSuchBucket", "NotFound", "ResourceNotFoundException"}
RUN_UP = "run `pipectl up` first (and check --region / the config)"


def find_target(ctx: Context) -> Target:
    """The pipeline's bucket, table and function, or an error naming the one that is missing."""
    bucket, table, function = ctx.bucket_name, ctx.spec.table.name, ctx.spec.function.name
    s3 = ctx.client("s3")
    reads = parallel_reads(
        {
            "bucket": checked(lambda: s3.head_bucket(Bucket=bucket), f"bucket {bucket}"),
            "versioning": checked(
                lambda: s3.get_bucket_versioning(Bucket=bucket), f"bucket {bucket}"
            ),
            "table": checked(
                lambda: ctx.client("dynamodb").describe_table(TableName=table), f"table {table}"
            ),
            "function": checked(
                lambda: ctx.client("lambda").get_function_configuration(FunctionName=function),
                f"function {function}",
            ),
        }
    )
    region = reads["bucket"].get("BucketRegion") or header(reads["bucket"], "x-amz-bucket-region")
    versioned = reads["versioning"].get("Status") in {"Enabled", "Suspended"}
    return Target(
        source=Source(bucket, versioned=versioned),
        destination=Destination(bucket, region or ctx.region, ctx.partition),
        table=Table(table, ctx.spec.table.partition_key),
        function=function,
    )


def checked(read: Any, what: str) -> Any:
    """`read`, with "not there" said as such and any other AWS error translated."""

    def call() -> Any:
        try:
            return read()
        except Exception as exc:
            if error_code(exc) in MISSING:
                raise AwsError(f"{what} does not exist", RUN_UP, error_code(exc)) from None
            from pipectl.aws import is_botocore_error

            if is_botocore_error(exc):
                raise translate(exc, f"reading {what}") from None
            raise

    return call


def header(response: dict[str, Any], name: str) -> str:
    return str(response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(name, ""))
