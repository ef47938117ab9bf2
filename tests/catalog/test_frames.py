"""The catalog as DataFrames: models() and compare()."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

import govern.catalog
from govern.catalog import Catalog, InvalidUsage
from govern.usage import Usage
from tests.catalog.conftest import AT
from tests.conftest import CONV_TRACE


def test_models_lists_prices_context_window_and_provider(catalog: Catalog) -> None:
    frame = catalog.models("gpt-4o-mini", provider="openai", at=AT)
    row = frame[frame["model"] == "gpt-4o-mini"].iloc[0]
    assert (row["input_per_mtok"], row["output_per_mtok"], row["cache_read_per_mtok"]) == (
        0.15,
        0.6,
        0.075,
    )
    assert (row["context_window"], row["provider"]) == (128_000, "openai")


def test_models_query_matches_any_case_on_name_or_id(catalog: Catalog) -> None:
    frame = catalog.models("SONNET 4.5", at=AT)  # the display name "Claude Sonnet 4.5"
    assert "claude-sonnet-4-5" in set(frame["model"])


def test_models_provider_filter_accepts_bedrock_for_aws(catalog: Catalog) -> None:
    frame = catalog.models(provider="bedrock", at=AT)
    assert len(frame) > 10 and set(frame["provider"]) == {"bedrock"}


def test_models_shows_long_context_threshold(catalog: Catalog) -> None:
    frame = catalog.models("claude-sonnet-4-5", provider="anthropic", at=AT)
    assert frame.iloc[0]["long_context_above"] == 200_000


def test_module_level_models_include_the_sim_aliases() -> None:
    frame = govern.catalog.models(provider="sim")
    assert set(frame["model"]) >= {"gpt-4o-mini", "claude-sonnet-4-5"}
    assert set(frame["source"]) >= {"alias:openai/gpt-4o-mini"}


def test_compare_one_usage_sorted_cheapest_first(catalog: Catalog) -> None:
    # 10,000 input + 1,000 output tokens:
    #   openai/gpt-4o-mini            0.01 x 0.15 + 0.001 x 0.6 = 0.0015 + 0.0006 = 0.0021
    #   anthropic/claude-sonnet-4-5   0.01 x 3    + 0.001 x 15  = 0.03   + 0.015  = 0.045
    #   openai/gpt-4o                 0.01 x 2.5  + 0.001 x 10  = 0.025  + 0.01   = 0.035
    usage = Usage(input_tokens=10_000, output_tokens=1_000)
    frame = catalog.compare(
        usage, ["anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini", "openai/gpt-4o"], at=AT
    )
    assert list(frame["model"]) == [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-5",
    ]
    assert list(frame["total_nanos"]) == [2_100_000, 35_000_000, 45_000_000]


def test_compare_a_trace_matches_an_independent_pandas_sum(catalog: Catalog) -> None:
    trace = pd.read_csv(CONV_TRACE, nrows=2_000)
    frame = catalog.compare(trace, ["openai/gpt-4o-mini"], at=AT)
    # gpt-4o-mini: $0.15 input, $0.60 output per MTok.
    expected = (
        Decimal(int(trace["ContextTokens"].sum())) * Decimal("0.15")
        + Decimal(int(trace["GeneratedTokens"].sum())) * Decimal("0.6")
    ) / 1_000_000
    row = frame.iloc[0]
    assert row["requests"] == 2_000
    assert row["total_nanos"] == govern.catalog.to_nanos(expected)


def test_compare_a_trace_prices_each_row_in_its_own_tier(catalog: Catalog) -> None:
    # claude-sonnet-4-5, one short and one long prompt, 1,000 output tokens each:
    #   100,000 x 3 / 1e6 + 1,000 x 15   / 1e6 = 0.3 + 0.015    = 0.315
    #   250,000 x 6 / 1e6 + 1,000 x 22.5 / 1e6 = 1.5 + 0.0225   = 1.5225
    #   total                                                   = 1.8375
    trace = pd.DataFrame({"ContextTokens": [100_000, 250_000], "GeneratedTokens": [1_000, 1_000]})
    frame = catalog.compare(trace, ["anthropic/claude-sonnet-4-5"], at=AT)
    assert frame.iloc[0]["total_nanos"] == 1_837_500_000


def test_compare_rejects_a_trace_row_that_does_not_add_up(catalog: Catalog) -> None:
    trace = pd.DataFrame({"input_tokens": [10, 10], "cache_read_tokens": [0, 20]})
    with pytest.raises(InvalidUsage, match="trace row 1"):
        catalog.compare(trace, ["openai/gpt-4o-mini"], at=AT)


def test_compare_names_unknown_models(catalog: Catalog) -> None:
    with pytest.raises(LookupError, match="openai/gpt-99"):
        catalog.compare(Usage(input_tokens=1), ["openai/gpt-4o", "openai/gpt-99"])
