"""Cost arithmetic: exact Decimal buckets, never negative, nano-dollar rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from govern.catalog import (
    CostBreakdown,
    InvalidUsage,
    NoOutputPrice,
    Price,
    cost,
    from_nanos,
    to_nanos,
)
from govern.usage import Usage

PRICE = Price.of(Decimal("0.15"), Decimal("0.6"), cache_read=Decimal("0.075"))


def test_buckets_add_up_to_the_total() -> None:
    usage = Usage(
        input_tokens=1_234,
        cache_read_tokens=1_000,
        cache_write_5m_tokens=17,
        cache_write_1h_tokens=5,
        output_tokens=999,
        reasoning_tokens=321,
    )
    c = cost(usage, PRICE)
    assert c.total == (
        c.input + c.cache_read + c.cache_write_5m + c.cache_write_1h + c.output + c.reasoning
    )


def test_cache_tokens_above_input_tokens_are_an_error_not_a_negative_cost() -> None:
    with pytest.raises(InvalidUsage, match="exceed input_tokens"):
        cost(Usage(input_tokens=100, cache_read_tokens=150), PRICE)


def test_reasoning_above_output_is_an_error() -> None:
    with pytest.raises(InvalidUsage, match="reasoning_tokens"):
        cost(Usage(output_tokens=10, reasoning_tokens=11), PRICE)


def test_negative_token_count_is_an_error() -> None:
    with pytest.raises(InvalidUsage, match="output_tokens is negative"):
        cost(Usage(output_tokens=-1), PRICE)


def test_a_negative_price_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="cache_read"):
        Price.of(Decimal(1), Decimal(1), cache_read=Decimal(-1))


def test_output_tokens_at_an_input_only_price_are_an_error() -> None:
    embedding = Price.of(Decimal("0.02"), None)
    assert cost(Usage(input_tokens=1_000), embedding).total == Decimal("0.00002")
    with pytest.raises(NoOutputPrice):
        cost(Usage(input_tokens=1, output_tokens=1), embedding)


def test_missing_cache_rates_default_to_the_input_rate() -> None:
    price = Price.of(Decimal(2), Decimal(8))
    assert (price.cache_read, price.cache_write_5m, price.cache_write_1h, price.reasoning) == (
        Decimal(2),
        Decimal(2),
        Decimal(2),
        Decimal(8),
    )


def test_no_tokens_cost_exactly_zero() -> None:
    assert cost(Usage(), PRICE) == CostBreakdown.zero()


def test_to_nanos_rounds_half_up() -> None:
    # 1.5 and 2.5 nano-dollars both round up (banker's rounding would give 2 and 2).
    assert to_nanos(Decimal("0.0000000015")) == 2
    assert to_nanos(Decimal("0.0000000025")) == 3
    assert to_nanos(Decimal("0.00000000149")) == 1


def test_nanos_round_trip_exactly() -> None:
    assert from_nanos(2_100_000) == Decimal("0.0021")
    assert to_nanos(from_nanos(123_456_789_012)) == 123_456_789_012


def test_sub_nano_costs_are_kept_exact_until_rounded() -> None:
    # 1 token at $0.075 / MTok = 0.000000075 dollars = 75 nano-dollars; 3 tokens at
    # $0.0001 / MTok = 0.0000000003 dollars, 0.3 nano-dollars, rounds to 0.
    assert cost(Usage(input_tokens=1, cache_read_tokens=1), PRICE).nanos == 75
    tiny = Price.of(Decimal("0.0001"), Decimal(0))
    assert cost(Usage(input_tokens=3), tiny).total == Decimal("0.0000000003")
    assert cost(Usage(input_tokens=3), tiny).nanos == 0
