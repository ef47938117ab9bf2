"""Vectorised row costs equal the gateway's own per-call cost, to the nano-dollar."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from govern.catalog.cost import cost, to_nanos
from govern.catalog.prices import LongContextTier, Price, TokenRates
from govern.usage import Usage
from govern.whatif.rates import TOKEN_FIELDS, row_nanos

rates = st.decimals(min_value=0, max_value=200, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def prices(draw: st.DrawFn) -> Price:
    def token_rates() -> TokenRates:
        return TokenRates.of(
            draw(rates),
            draw(rates),
            cache_read=draw(rates),
            cache_write_5m=draw(rates),
            cache_write_1h=draw(rates),
            reasoning=draw(rates),
        )

    thresholds = sorted(draw(st.sets(st.integers(0, 300_000), max_size=2)))
    tiers = tuple(LongContextTier(above_input_tokens=t, rates=token_rates()) for t in thresholds)
    return Price.with_tiers(token_rates(), tiers)


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    input_tokens = draw(st.integers(0, 2_000_000))
    read = draw(st.integers(0, input_tokens))
    write_5m = draw(st.integers(0, input_tokens - read))
    write_1h = draw(st.integers(0, input_tokens - read - write_5m))
    output = draw(st.integers(0, 200_000))
    return Usage(
        input_tokens=input_tokens,
        cache_read_tokens=read,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        output_tokens=output,
        reasoning_tokens=draw(st.integers(0, output)),
    )


def tokens_of(rows: list[Usage]) -> dict[str, np.ndarray]:
    return {f: np.array([getattr(u, f) for u in rows], dtype=np.int64) for f in TOKEN_FIELDS}


@settings(max_examples=100, deadline=None)
@given(prices(), st.lists(usages(), min_size=1, max_size=20))
def test_each_row_costs_what_one_call_costs(price: Price, rows: list[Usage]) -> None:
    got = row_nanos(tokens_of(rows), price).tolist()
    assert got == [to_nanos(cost(u, price).total) for u in rows]


def test_a_half_nano_rounds_up() -> None:
    # 1 token at $0.0005/MTok is 0.5 nano-dollars: half up, as the ledger charges it.
    price = Price.with_tiers(TokenRates.of(Decimal("0.0005"), Decimal(0)))
    assert row_nanos(tokens_of([Usage(input_tokens=1)]), price).tolist() == [1]


def test_rates_too_fine_for_int64_stay_exact() -> None:
    # A rate with 30 decimals: the common denominator is far beyond 64 bits.
    fine = Decimal("0.123456789012345678901234567891")
    price = Price.with_tiers(TokenRates.of(fine, fine))
    usage = Usage(input_tokens=1_234_567, output_tokens=89)
    assert row_nanos(tokens_of([usage]), price).tolist() == [to_nanos(cost(usage, price).total)]
