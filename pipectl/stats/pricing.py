"""What the pipeline costs: a small, dated price table and the arithmetic of the estimate.

The figures are list prices in US dollars, without the free tier (pipectl cannot know how much of
it an account has left) and without Savings Plans or volume tiers (the first tier applies far
beyond what this pipeline runs). `pricing:` in the config overrides any of them.

Sources (read from stored copies of the pages: this machine cannot reach the web; re-check them
when you update PRICES_AS_OF):
- Lambda: https://aws.amazon.com/lambda/pricing/ — requests $0.20 per 1M; duration per GB-second
  $0.0000166667 (x86_64) and $0.0000133334 (arm64), first tier, US East (N. Virginia), US East
  (Ohio), US West (Oregon). Unchanged since 1 ms billing began (December 2020).
- DynamoDB on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/ — $0.625 per million
  write request units in the same regions, since the 50 % cut of 1 November 2024 (before it
  $1.25). One WRU writes an item of up to 1 KB; a rejected conditional write costs one too.
- CloudWatch Logs Insights: https://aws.amazon.com/cloudwatch/pricing/ — $0.005 per GB scanned.

Billing of the INIT phase: since 1 August 2025 Lambda bills the INIT phase of on-demand functions
on managed runtimes packaged as zip files too ("AWS Lambda standardizes billing for INIT Phase",
AWS Compute Blog, https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/);
before, it was free for them. The REPORT line's `Billed Duration` is what is billed: it includes
the INIT phase where that is billed (container images and custom runtimes always showed
`Billed Duration` ≈ `Duration` + `Init Duration`). So the cost below is computed from
`Billed Duration` alone and never adds `Init Duration` on top, which would count it twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PRICES_AS_OF = "2025-07-21"  # the newest source the figures below were checked against
ARCHITECTURES = ("x86_64", "arm64")
DEFAULT_ARCHITECTURE = "x86_64"
LAMBDA_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
US_LIST_PRICES = {
    "lambda_requests_per_million": 0.20,
    "dynamodb_write_units_per_million": 0.625,
    "logs_insights_per_gb": 0.005,
}
# Regions whose prices were checked; elsewhere the us-east-1 figures are used, and said so.
PRICED_REGIONS = ("us-east-1", "us-east-2", "us-west-2")
FALLBACK_REGION = "us-east-1"
OVERRIDABLE = (
    "lambda_gb_second",
    "lambda_requests_per_million",
    "dynamodb_write_units_per_million",
)
HOURS_PER_MONTH = 730  # AWS's own convention in its pricing examples
MB_PER_GB = 1024  # Lambda's GB-second: a 128 MB function is 0.125 GB


@dataclass(frozen=True)
class Prices:
    """Per-unit prices in USD, and where they came from."""

    lambda_gb_second: float
    lambda_requests_per_million: float
    dynamodb_write_units_per_million: float
    logs_insights_per_gb: float
    region: str
    architecture: str
    source: str  # "pipectl's table of <date>" or which keys came from the config

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def prices_for(region: str, architecture: str, overrides: Any = None) -> tuple[Prices, list[str]]:
    """The prices for `region` and `architecture`, with the config's `pricing:` on top; and
    notes for the reader (a region without its own prices)."""
    notes = []
    priced_as = region
    if region not in PRICED_REGIONS:
        priced_as = FALLBACK_REGION
        notes.append(
            f"pipectl has no prices for {region}: {FALLBACK_REGION}'s are used "
            "(set `pricing:` in the config to use your region's)"
        )
    arch = architecture if architecture in ARCHITECTURES else DEFAULT_ARCHITECTURE
    table = {"lambda_gb_second": LAMBDA_GB_SECOND[arch], **US_LIST_PRICES}
    overridden = [key for key in OVERRIDABLE if override(table, key, overrides)]
    source = f"pipectl's table of {PRICES_AS_OF} ({priced_as}, {arch})"
    if overridden:
        source += "; from the config: " + ", ".join(f"pricing.{key}" for key in overridden)
    return Prices(**table, region=region, architecture=arch, source=source), notes


def override(table: dict[str, float], key: str, overrides: Any) -> bool:
    """Put the config's price for `key` into `table`, if it sets one."""
    value = getattr(overrides, key, None)
    if value is None:
        return False
    table[key] = float(value)
    return True


@dataclass(frozen=True)
class Cost:
    """The estimate for a window, from what was billed (see the module docstring)."""

    gb_seconds: float
    requests: int
    write_units: int
    lambda_usd: float
    dynamodb_usd: float

    @property
    def total_usd(self) -> float:
        return self.lambda_usd + self.dynamodb_usd


def estimate(billed_mb_ms: float, requests: int, write_units: int, prices: Prices) -> Cost:
    """`billed_mb_ms`: the sum over invocations of Billed Duration (ms) x Memory Size (MB)."""
    gb_seconds = billed_mb_ms / MB_PER_GB / 1000
    lambda_usd = (
        gb_seconds * prices.lambda_gb_second
        + requests * prices.lambda_requests_per_million / 1_000_000
    )
    dynamodb_usd = write_units * prices.dynamodb_write_units_per_million / 1_000_000
    return Cost(gb_seconds, requests, write_units, lambda_usd, dynamodb_usd)


def per_thousand(total_usd: float, files: int) -> float:
    """Cost per 1,000 files at the observed mix; 0 when no file went through."""
    return total_usd / files * 1000 if files else 0.0


def per_month(total_usd: float, window_s: float) -> float:
    """The window's cost extrapolated to a month (730 hours) at the same rate."""
    return total_usd * HOURS_PER_MONTH * 3600 / window_s if window_s > 0 else 0.0


def insights_cost(bytes_scanned: float, prices: Prices) -> float:
    return bytes_scanned / 1024**3 * prices.logs_insights_per_gb
