"""OpenAI: pinned costs, worked out by hand from genai-prices' bundled prices.

Normalisation (tested at the provider boundary): `prompt_tokens` already includes
`cached_tokens`, and `completion_tokens` already includes `reasoning_tokens`.
"""

from __future__ import annotations

from decimal import Decimal

from govern.catalog import Catalog, cost
from govern.usage import Usage
from tests.catalog.conftest import AT


def test_gpt_4o_mini_with_cached_tokens(catalog: Catalog) -> None:
    # gpt-4o-mini: input $0.15, cached input $0.075, output $0.60 per MTok.
    # prompt_tokens 12,000 of which cached 8,000; completion_tokens 1,500.
    #   uncached   4,000 x 0.15  / 1e6 = 0.0006
    #   cached     8,000 x 0.075 / 1e6 = 0.0006
    #   output     1,500 x 0.60  / 1e6 = 0.0009
    #   total                          = 0.0021  (2,100,000 nano-dollars)
    price = catalog.price("openai", "openai", "gpt-4o-mini", at=AT)
    assert price is not None
    c = cost(Usage(input_tokens=12_000, cache_read_tokens=8_000, output_tokens=1_500), price)
    assert (c.input, c.cache_read, c.output) == (
        Decimal("0.0006"),
        Decimal("0.0006"),
        Decimal("0.0009"),
    )
    assert c.total == Decimal("0.0021")
    assert c.nanos == 2_100_000


def test_reasoning_tokens_are_inside_output_and_billed_once(catalog: Catalog) -> None:
    # o4-mini: input $1.10, cached $0.275, output $4.40 per MTok (reasoning at output rate).
    # prompt 5,000 (1,000 cached); completion 3,000 of which reasoning 2,000.
    #   uncached   4,000 x 1.10  / 1e6 = 0.0044
    #   cached     1,000 x 0.275 / 1e6 = 0.000275
    #   output     1,000 x 4.40  / 1e6 = 0.0044   (3,000 - 2,000 reasoning)
    #   reasoning  2,000 x 4.40  / 1e6 = 0.0088
    #   total                          = 0.017875 (counting reasoning twice: 0.026675)
    price = catalog.price("openai", "openai", "o4-mini", at=AT)
    assert price is not None
    usage = Usage(
        input_tokens=5_000, cache_read_tokens=1_000, output_tokens=3_000, reasoning_tokens=2_000
    )
    c = cost(usage, price)
    assert (c.output, c.reasoning) == (Decimal("0.0044"), Decimal("0.0088"))
    assert c.total == Decimal("0.017875")


def test_reasoning_priced_apart_where_the_catalog_says_so(catalog: Catalog) -> None:
    # perplexity sonar-deep-research: input $2, output $8, reasoning $3 per MTok.
    # prompt 1,000; completion 5,000 of which reasoning 4,000.
    #   input      1,000 x 2 / 1e6 = 0.002
    #   output     1,000 x 8 / 1e6 = 0.008
    #   reasoning  4,000 x 3 / 1e6 = 0.012
    #   total                      = 0.022
    price = catalog.price("openai", "perplexity", "sonar-deep-research", at=AT)
    assert price is not None
    usage = Usage(input_tokens=1_000, output_tokens=5_000, reasoning_tokens=4_000)
    assert cost(usage, price).total == Decimal("0.022")


def test_o3_price_follows_the_date_of_the_call(catalog: Catalog) -> None:
    # o3 cost $10 / $40 per MTok until 2025-06-10, then $2 / $8.
    # 1,000,000 input + 100,000 output tokens:
    #   before: 1.0 x 10 + 0.1 x 40 = 14   after: 1.0 x 2 + 0.1 x 8 = 2.8
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)
    before = catalog.price("openai", "openai", "o3", at=AT.replace(year=2025, month=6, day=1))
    after = catalog.price("openai", "openai", "o3", at=AT)
    assert before is not None and after is not None
    assert (cost(usage, before).total, cost(usage, after).total) == (Decimal(14), Decimal("2.8"))
