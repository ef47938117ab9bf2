"""Cost arithmetic: exact Decimal buckets, never negative, nano-dollar rounding."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govern.catalog import (
    CostBreakdown,
    InvalidUsage,
    LongContextTier,
    NoOutputPrice,
    Price,
    TokenRates,
    cost,
    from_nanos,
    nano_cost,
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


def test_nano_cost_rounds_each_bucket_and_the_exact_total() -> None:
    # 0.0375 $/MTok = 37.5 nano-dollars per token: 1 cache-read token costs 37.5 nanos,
    # 3 cost 112.5; each bucket rounds half up on its own, the total on the exact sum.
    price = Price.of(Decimal("0.15"), Decimal("0.6"), cache_read=Decimal("0.0375"))
    usage = Usage(input_tokens=4, cache_read_tokens=3, output_tokens=1)
    n = nano_cost(usage, price)
    # input: 1 x 150 = 150; cache read: 3 x 37.5 = 112.5 -> 113; output: 1 x 600 = 600
    assert (n.input, n.cache_read, n.output, n.reasoning) == (150, 113, 600, 0)
    # exact total 862.5 nanos -> 863; the exact dollars keep the half
    assert n.total == 863
    assert n.exact == Decimal("0.0000008625")


def _reference_nanos(amount: Decimal) -> int:
    with localcontext(Context(prec=60)):
        return int(amount.scaleb(9).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_RATES = st.decimals(min_value=0, max_value=200, places=6, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    rates=st.tuples(_RATES, _RATES, _RATES, _RATES, _RATES, _RATES),
    counts=st.tuples(*(st.integers(min_value=0, max_value=2_000_000_000) for _ in range(6))),
    tier=st.booleans(),
)
def test_nano_cost_agrees_with_the_exact_decimal_cost(
    rates: tuple[Decimal, ...], counts: tuple[int, ...], tier: bool
) -> None:
    base = TokenRates.of(
        rates[0],
        rates[1],
        cache_read=rates[2],
        cache_write_5m=rates[3],
        cache_write_1h=rates[4],
        reasoning=rates[5],
    )
    tiers = (LongContextTier(above_input_tokens=1_000, rates=base),) if tier else ()
    price = Price.with_tiers(TokenRates.of(rates[1], rates[0]), tiers)
    uncached, read, w5, w1h, plain_out, reasoning = counts
    usage = Usage(
        input_tokens=uncached + read + w5 + w1h,
        cache_read_tokens=read,
        cache_write_5m_tokens=w5,
        cache_write_1h_tokens=w1h,
        output_tokens=plain_out + reasoning,
        reasoning_tokens=reasoning,
    )
    # The reference: each bucket's tokens times its rate per million, in exact decimals,
    # at the rates of the tier the input falls in.
    r = base if tier and usage.input_tokens > 1_000 else price
    with localcontext(Context(prec=60)):
        buckets = [
            Decimal(uncached) * r.input / 1_000_000,
            Decimal(read) * r.cache_read / 1_000_000,
            Decimal(w5) * r.cache_write_5m / 1_000_000,
            Decimal(w1h) * r.cache_write_1h / 1_000_000,
            Decimal(plain_out) * (r.output or 0) / 1_000_000,
            Decimal(reasoning) * (r.reasoning or 0) / 1_000_000,
        ]
        total = sum(buckets, Decimal(0))
    n = nano_cost(usage, price)
    assert n.exact == total == cost(usage, price).total
    assert n.total == _reference_nanos(total) == to_nanos(total)
    assert [n.input, n.cache_read, n.cache_write_5m, n.cache_write_1h, n.output, n.reasoning] == [
        _reference_nanos(b) for b in buckets
    ]
