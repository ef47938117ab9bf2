"""Bedrock: pinned costs with cache tokens, and region-prefixed (inference profile) ids,
worked out by hand from genai-prices' bundled prices.

Normalisation (tested at the provider boundary): Bedrock's `inputTokens` excludes
`cacheReadInputTokens` and `cacheWriteInputTokens`; `Usage.input_tokens` is their sum.
"""

from __future__ import annotations

from decimal import Decimal

from govern.catalog import Catalog, cost
from govern.usage import Usage
from tests.catalog.conftest import AT

SONNET_4_5 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
# input 10,000 of which 4,000 cache reads and 2,000 cache writes; output 1,000.
PROMPT = Usage(
    input_tokens=10_000, cache_read_tokens=4_000, cache_write_5m_tokens=2_000, output_tokens=1_000
)


def test_claude_3_5_sonnet_with_cache_tokens(catalog: Catalog) -> None:
    # anthropic.claude-3-5-sonnet-20241022-v2:0 per MTok: input $3, cache read $0.30,
    # cache write $3.75, output $15.
    # Bedrock reports inputTokens 2,000, cacheReadInputTokens 30,000,
    # cacheWriteInputTokens 5,000, outputTokens 800 -> Usage.input_tokens 37,000.
    #   input       2,000 x 3    / 1e6 = 0.006
    #   read       30,000 x 0.30 / 1e6 = 0.009
    #   write       5,000 x 3.75 / 1e6 = 0.01875
    #   output        800 x 15   / 1e6 = 0.012
    #   total                          = 0.04575
    price = catalog.price("bedrock", "bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", at=AT)
    assert price is not None
    usage = Usage(
        input_tokens=37_000,
        cache_read_tokens=30_000,
        cache_write_5m_tokens=5_000,
        output_tokens=800,
    )
    c = cost(usage, price)
    assert (c.input, c.cache_read, c.cache_write_5m, c.output) == (
        Decimal("0.006"),
        Decimal("0.009"),
        Decimal("0.01875"),
        Decimal("0.012"),
    )
    assert c.total == Decimal("0.04575")


def test_us_prefix_is_priced_as_the_regional_entry(catalog: Catalog) -> None:
    # us.anthropic.claude-sonnet-4-5 (a geographic inference profile) bills the catalog's
    # regional entry, 10% above the global one, per MTok: input $3.30, cache read $0.33,
    # cache write $4.125, output $16.50.
    #   input       4,000 x 3.30  / 1e6 = 0.0132
    #   read        4,000 x 0.33  / 1e6 = 0.00132
    #   write       2,000 x 4.125 / 1e6 = 0.00825
    #   output      1,000 x 16.50 / 1e6 = 0.0165
    #   total                           = 0.03927
    price = catalog.price("bedrock", "bedrock", f"us.{SONNET_4_5}", at=AT)
    assert price is not None
    assert cost(PROMPT, price).total == Decimal("0.03927")
    assert (price.region, price.region_basis) == ("us", "region")
    assert price.source == f"genai-prices:aws/regional.{SONNET_4_5}"


def test_global_prefix_is_priced_as_the_global_entry(catalog: Catalog) -> None:
    # global.anthropic.claude-sonnet-4-5 per MTok: input $3, read $0.30, write $3.75, output $15.
    #   4,000 x 3 + 4,000 x 0.30 + 2,000 x 3.75 + 1,000 x 15 = 12,000 + 1,200 + 7,500 + 15,000
    #   = 35,700 / 1e6 = 0.0357
    price = catalog.price("bedrock", "bedrock", f"global.{SONNET_4_5}", at=AT)
    assert price is not None
    assert cost(PROMPT, price).total == Decimal("0.0357")
    assert (price.region, price.region_basis) == ("global", "region")


def test_prefix_without_a_region_entry_falls_back_to_the_base_model(catalog: Catalog) -> None:
    # The catalog has no `global.` entry for Claude 3.5 Sonnet v2: its base entry prices it.
    price = catalog.price(
        "bedrock", "bedrock", "global.anthropic.claude-3-5-sonnet-20241022-v2:0", at=AT
    )
    assert price is not None
    assert (price.region, price.region_basis) == ("global", "base")
    assert price.source == "genai-prices:aws/regional.anthropic.claude-3-5-sonnet-20241022-v2:0"


def test_prefixed_id_of_a_model_without_regional_entries_uses_the_base_entry(
    catalog: Catalog,
) -> None:
    price = catalog.price("bedrock", "bedrock", "eu.meta.llama3-2-1b-instruct-v1:0", at=AT)
    assert price is not None
    assert (price.region, price.region_basis) == ("eu", "base")
    assert price.source == "genai-prices:aws/meta.llama3-2-1b-instruct-v1:0"


def test_unprefixed_id_states_no_region(catalog: Catalog) -> None:
    price = catalog.price("bedrock", "bedrock", SONNET_4_5, at=AT)
    assert price is not None
    assert (price.region, price.region_basis) == (None, None)


def test_inference_profile_arn_is_priced_by_its_id(catalog: Catalog) -> None:
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{SONNET_4_5}"
    price = catalog.price("bedrock", "bedrock", arn, at=AT)
    assert price is not None
    assert (price.price.input, price.region_basis) == (Decimal("3.3"), "region")
