"""Every model `models()` lists is a name `lookup()` and `compare()` accept and price alike."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

import govern.catalog
from govern.catalog import Catalog, cost, to_nanos
from govern.config import PriceOverride, PricingConfig
from govern.usage import Usage
from tests.catalog.conftest import AT

_RATES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")


def _assert_listing_agrees(catalog: Catalog) -> pd.DataFrame:
    """Each listed `provider/model` prices, through lookup() and compare(), as its row says."""
    frame = catalog.models(at=AT)
    refs = list(frame["provider"] + "/" + frame["model"])
    assert len(set(refs)) == len(refs)
    for ref, row in zip(refs, frame.itertuples(index=False), strict=True):
        found = catalog.lookup(ref, at=AT)
        assert found is not None, ref
        assert (found.source, found.entry) == (row.source, _value(row.entry)), ref
        listed = [_value(getattr(row, f"{rate}_per_mtok")) for rate in _RATES]
        looked_up = [getattr(found.price, rate) for rate in _RATES]
        assert listed == [None if r is None else float(r) for r in looked_up], ref
    # Input and cache tokens only, so that input-only models (embeddings) compare too.
    usage = Usage(input_tokens=10_000, cache_read_tokens=2_000, cache_write_5m_tokens=1_000)
    _assert_compare_agrees(catalog, usage, refs)
    with_output = [
        ref for ref, out in zip(refs, frame["output_per_mtok"], strict=True) if not pd.isna(out)
    ]
    usage = Usage(input_tokens=10_000, output_tokens=3_000, reasoning_tokens=1_000)
    _assert_compare_agrees(catalog, usage, with_output)
    return frame


def _value(cell: object) -> object:
    """A frame cell with pandas' missing value (NaN, NA) as None."""
    return None if pd.isna(cell) else cell


def _assert_compare_agrees(catalog: Catalog, usage: Usage, refs: list[str]) -> None:
    compared = catalog.compare(usage, refs, at=AT)
    assert sorted(compared["model"]) == sorted(refs)
    for ref, source, nanos in zip(
        compared["model"], compared["source"], compared["total_nanos"], strict=True
    ):
        found = catalog.lookup(ref, at=AT)
        assert found is not None
        assert (source, nanos) == (found.source, to_nanos(cost(usage, found.price).total)), ref


def test_every_listed_model_of_the_default_catalog_resolves_and_compares() -> None:
    frame = _assert_listing_agrees(govern.catalog.default_catalog())
    assert len(frame) > 2_000


def test_every_priced_catalog_entry_is_listed_once(catalog: Catalog) -> None:
    frame = catalog.models(at=AT)
    entries = sorted(entry.source for entry in catalog.entries())
    assert sorted(frame["entry"]) == entries


def test_listed_override_names_resolve_to_the_price_a_call_gets() -> None:
    catalog = Catalog(
        PricingConfig(
            overrides=[
                PriceOverride(
                    model="house-llm", input_per_mtok=Decimal(1), output_per_mtok=Decimal(2)
                ),
                PriceOverride(
                    model="corp/llm-2", input_per_mtok=Decimal(3), output_per_mtok=Decimal(4)
                ),
                PriceOverride(model="mine", provider="corp", pricing_as="openai/gpt-4o-mini"),
                PriceOverride(
                    model="gpt-4o-mini",
                    provider="openai",
                    input_per_mtok=Decimal(5),
                    output_per_mtok=Decimal(6),
                ),
            ]
        )
    )
    frame = _assert_listing_agrees(catalog)
    refs = set(frame["provider"] + "/" + frame["model"])
    assert {"*/house-llm", "corp/llm-2", "corp/mine", "openai/gpt-4o-mini"} <= refs
    # The override for openai/gpt-4o-mini replaces the catalog's row, as it does for calls.
    mini = frame[(frame["provider"] == "openai") & (frame["model"] == "gpt-4o-mini")]
    assert list(mini["source"]) == ["override:gpt-4o-mini[provider=openai]"]


def test_regional_bedrock_entry_is_listed_under_its_us_profile_id(catalog: Catalog) -> None:
    frame = catalog.models(provider="bedrock", at=AT)
    row = frame[frame["model"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"].iloc[0]
    # The regional entry: 10% over Claude Sonnet 4.5's $3 input.
    assert row["entry"] == "genai-prices:aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert row["input_per_mtok"] == 3.3
    assert not frame["model"].str.startswith("regional.").any()


def test_fireworks_model_is_listed_under_the_name_its_api_takes(catalog: Catalog) -> None:
    frame = catalog.models("deepseek-r1-0528", provider="fireworks", at=AT)
    row = frame[frame["entry"] == "genai-prices:fireworks/deepseek-r1-0528"].iloc[0]
    assert row["model"] == "accounts/fireworks/models/deepseek-r1-0528"


def test_model_matched_only_by_other_names_is_listed_under_one(catalog: Catalog) -> None:
    # genai-prices' `mistral/codestral` matches `codestral-latest` or `codestral-2501`.
    frame = catalog.models("codestral", provider="mistral", at=AT)
    row = frame[frame["entry"] == "genai-prices:mistral/codestral"].iloc[0]
    assert row["model"] == "codestral-latest"


def test_provider_column_is_the_gateway_name(catalog: Catalog) -> None:
    frame = catalog.models(at=AT)
    assert "aws" not in set(frame["provider"]) and "bedrock" in set(frame["provider"])


def test_provider_filter_accepts_the_catalog_id(catalog: Catalog) -> None:
    by_id = catalog.models(provider="aws", at=AT)
    assert by_id.equals(catalog.models(provider="bedrock", at=AT))


def test_query_matches_the_catalog_entry_id(catalog: Catalog) -> None:
    frame = catalog.models("regional.anthropic.claude-sonnet-4-5", at=AT)
    assert "us.anthropic.claude-sonnet-4-5-20250929-v1:0" in set(frame["model"])


def test_every_listed_catalog_name_is_a_pricing_as_target(catalog: Catalog) -> None:
    frame = catalog.models(at=AT)
    refs = list(frame["provider"] + "/" + frame["model"])
    aliased = Catalog(
        PricingConfig(
            overrides=[
                PriceOverride(model=f"m{i}", provider="house", pricing_as=ref)
                for i, ref in enumerate(refs)
            ]
        )
    )
    entries = [aliased.lookup(f"house/m{i}", at=AT) for i in range(len(refs))]
    assert [None if e is None else e.entry for e in entries] == list(frame["entry"])
