"""Anthropic: pinned costs with cache writes (5 minutes and 1 hour), cache reads and the
long-context tier, worked out by hand from genai-prices' bundled prices.

Normalisation (tested at the provider boundary): Anthropic's `input_tokens` excludes cache
reads and writes; `Usage.input_tokens` is their sum.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from govern.catalog import Catalog, PriceResult, cost
from govern.usage import Usage
from tests.catalog.conftest import AT


@pytest.fixture
def sonnet(catalog: Catalog) -> PriceResult:
    price = catalog.price("anthropic", "anthropic", "claude-sonnet-4-5-20250929", at=AT)
    assert price is not None
    return price


def test_sonnet_4_5_with_cache_writes_5m_and_1h_and_reads(sonnet: PriceResult) -> None:
    # claude-sonnet-4-5 per MTok: input $3, 5m cache write $3.75, 1h cache write $6,
    # cache read $0.30, output $15.
    # Anthropic reports input_tokens 1,000, cache_creation 5m 10,000 and 1h 20,000,
    # cache_read_input_tokens 50,000, output_tokens 2,000 -> Usage.input_tokens 81,000.
    #   input        1,000 x 3    / 1e6 = 0.003
    #   write 5m    10,000 x 3.75 / 1e6 = 0.0375
    #   write 1h    20,000 x 6    / 1e6 = 0.12
    #   read        50,000 x 0.30 / 1e6 = 0.015
    #   output       2,000 x 15   / 1e6 = 0.03
    #   total                           = 0.2055
    usage = Usage(
        input_tokens=81_000,
        cache_write_5m_tokens=10_000,
        cache_write_1h_tokens=20_000,
        cache_read_tokens=50_000,
        output_tokens=2_000,
    )
    c = cost(usage, sonnet)
    assert (c.input, c.cache_write_5m, c.cache_write_1h, c.cache_read, c.output) == (
        Decimal("0.003"),
        Decimal("0.0375"),
        Decimal("0.12"),
        Decimal("0.015"),
        Decimal("0.03"),
    )
    assert c.total == Decimal("0.2055")
    assert c.long_context_above is None


def test_long_context_tier_reprices_the_whole_request(sonnet: PriceResult) -> None:
    # Over 200,000 input tokens claude-sonnet-4-5 bills every token at the long-context
    # rates: input $6, cache read $0.60, output $22.50 per MTok.
    # input 250,000 (100,000 cache reads), output 1,000:
    #   input      150,000 x 6    / 1e6 = 0.9
    #   read       100,000 x 0.60 / 1e6 = 0.06
    #   output       1,000 x 22.5 / 1e6 = 0.0225
    #   total                           = 0.9825
    usage = Usage(input_tokens=250_000, cache_read_tokens=100_000, output_tokens=1_000)
    c = cost(usage, sonnet)
    assert c.total == Decimal("0.9825")
    assert c.long_context_above == 200_000


def test_long_context_threshold_counts_cache_tokens(sonnet: PriceResult) -> None:
    # Only 50,000 uncached tokens, but 210,000 in all with 160,000 cache reads: > 200k.
    #   input       50,000 x 6    / 1e6 = 0.3
    #   read       160,000 x 0.60 / 1e6 = 0.096
    #   total                           = 0.396
    usage = Usage(input_tokens=210_000, cache_read_tokens=160_000)
    assert cost(usage, sonnet).total == Decimal("0.396")


def test_exactly_200k_input_tokens_is_billed_at_base_rates(sonnet: PriceResult) -> None:
    # The tier starts above 200,000: 200,000 x 3 / 1e6 + 1,000 x 15 / 1e6 = 0.6 + 0.015.
    usage = Usage(input_tokens=200_000, output_tokens=1_000)
    assert cost(usage, sonnet).total == Decimal("0.615")


def test_gemini_long_context_tier(catalog: Catalog) -> None:
    # gemini-2.5-pro per MTok: $1.25 / $10 up to 200k prompt tokens, $2.50 / $15 above.
    # 300,000 input + 10,000 output: 0.3 x 2.5 + 0.01 x 15 = 0.75 + 0.15 = 0.9
    price = catalog.price("openai", "google", "gemini-2.5-pro", at=AT)
    assert price is not None
    assert cost(Usage(input_tokens=300_000, output_tokens=10_000), price).total == Decimal("0.9")
