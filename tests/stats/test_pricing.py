"""The price table and the cost arithmetic: billed GB-seconds (1 ms rounding, a cold start whose
Billed Duration already holds its INIT phase), requests, write units, overrides, projections."""

from __future__ import annotations

import pytest

from pipectl.config.model import PricingSpec, parse_spec
from pipectl.errors import UsageError
from pipectl.stats import pricing


def us_east_1(architecture: str = "x86_64", overrides=None) -> pricing.Prices:
    return pricing.prices_for("us-east-1", architecture, overrides)[0]


def test_table_prices_per_architecture():
    x86, arm = us_east_1("x86_64"), us_east_1("arm64")
    assert (x86.lambda_gb_second, arm.lambda_gb_second) == (0.0000166667, 0.0000133334)
    assert x86.lambda_requests_per_million == 0.20
    assert x86.dynamodb_write_units_per_million == 0.625
    assert pricing.PRICES_AS_OF in x86.source


def test_an_unpriced_region_uses_us_east_1_and_says_so():
    prices, notes = pricing.prices_for("ap-southeast-2", "x86_64")
    assert prices.lambda_gb_second == us_east_1().lambda_gb_second
    assert prices.region == "ap-southeast-2" and "us-east-1" in prices.source
    assert len(notes) == 1 and "ap-southeast-2" in notes[0] and "pricing:" in notes[0]


def test_config_overrides_win_and_are_named():
    overrides = PricingSpec(lambda_gb_second=0.00002, dynamodb_write_units_per_million=1.25)
    prices = us_east_1(overrides=overrides)
    assert prices.lambda_gb_second == 0.00002
    assert prices.dynamodb_write_units_per_million == 1.25
    assert prices.lambda_requests_per_million == 0.20  # not overridden: the table's
    assert "pricing.lambda_gb_second" in prices.source
    assert "pricing.lambda_requests_per_million" not in prices.source


def test_one_millisecond_billed_at_128_mb():
    """A 0.84 ms invocation is billed 1 ms (Lambda rounds up to the next ms)."""
    cost = pricing.estimate(billed_mb_ms=1 * 128, requests=1, write_units=0, prices=us_east_1())
    assert cost.gb_seconds == 0.000125  # 128 MB = 0.125 GB, for 0.001 s
    assert cost.lambda_usd == pytest.approx(0.000125 * 0.0000166667 + 0.20 / 1e6)
    assert cost.dynamodb_usd == 0.0


def test_a_cold_start_is_priced_from_billed_duration_only():
    """Billed Duration 350 ms includes the 247.55 ms INIT phase (billed since August 2025):
    adding Init Duration on top would count it twice."""
    cost = pricing.estimate(billed_mb_ms=350 * 256, requests=1, write_units=1, prices=us_east_1())
    assert cost.gb_seconds == pytest.approx(0.35 * 0.25)
    expected = 0.0875 * 0.0000166667 + 0.20 / 1e6 + 0.625 / 1e6
    assert cost.total_usd == pytest.approx(expected)


def test_projections():
    assert pricing.per_thousand(0.5, 250) == 2.0
    assert pricing.per_thousand(0.5, 0) == 0.0
    assert pricing.per_month(1.0, 3600) == 730.0
    assert pricing.per_month(1.0, 0) == 0.0


@pytest.mark.parametrize("value", [-0.1, ".nan", ".inf", "'cheap'", "true"])
def test_bad_prices_are_rejected_naming_the_key(value):
    import yaml

    data = yaml.safe_load(f"pricing:\n  lambda_gb_second: {value}\n")
    with pytest.raises(UsageError, match="pricing.lambda_gb_second"):
        parse_spec(data)


def test_whole_number_prices_are_accepted():
    spec = parse_spec({"pricing": {"dynamodb_write_units_per_million": 1}})
    assert spec.pricing.dynamodb_write_units_per_million == 1.0
    assert parse_spec({"pricing": None}).pricing == PricingSpec()
