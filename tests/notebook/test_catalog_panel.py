"""`govern.panels.catalog()`: filters and usage widgets drive the table, costs and chart."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from govern.catalog import Catalog
from govern.config import default_config
from govern.panels import catalog as catalog_panel
from govern.panels.catalog_panel import CatalogPanel
from govern.traces import read
from tests.conftest import CONV_TRACE

MINI = "openai/gpt-4o-mini"
PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The offline default's catalog (sim models priced as the real ones)."""
    return Catalog(default_config(environ={}).pricing)


@pytest.fixture(scope="module")
def conv() -> pd.DataFrame:
    return read(CONV_TRACE)


@pytest.fixture
def panel(catalog: Catalog, conv: pd.DataFrame) -> CatalogPanel:
    """A panel that keeps its numbers without rendering charts (one test renders)."""
    return catalog_panel({"conv": conv}, catalog=catalog, draw=False)


def test_displays_as_its_widget(panel: CatalogPanel) -> None:
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_search_filters_the_table(panel: CatalogPanel) -> None:
    panel.search.value = "GPT-4o-mini"
    refs = panel.models["ref"].str.lower() + " " + panel.models["name"].fillna("").str.lower()
    assert len(panel.models) > 1 and refs.str.contains("gpt-4o-mini").all()
    assert MINI in panel.table.value
    assert set(panel.costs["model"]) <= set(panel.models["ref"])


def test_provider_filter(panel: CatalogPanel) -> None:
    panel.provider.value = "anthropic"
    assert set(panel.models["provider"]) == {"anthropic"}


def test_deprecated_models_only_on_request(panel: CatalogPanel) -> None:
    assert not panel.models["deprecated"].any()
    panel.include_deprecated.value = True
    assert panel.models["deprecated"].any()


def test_no_match_says_so(panel: CatalogPanel) -> None:
    panel.search.value = "no-such-model-anywhere"
    assert "no model matches" in panel.table.value
    assert panel.costs.empty and panel.chart.value == b""


def test_costs_follow_the_usage(panel: CatalogPanel) -> None:
    panel.search.value = "gpt-4o-mini"
    # Default 1000 in, 500 out at $0.15/$0.60 per MTok: 150_000 + 300_000 nanos.
    assert panel.cost_of(MINI) == Decimal("0.00045")
    panel.input_tokens.value = 2000
    assert panel.cost_of(MINI) == Decimal("0.0006")  # 300_000 + 300_000
    panel.output_tokens.value = 0
    assert panel.cost_of(MINI) == Decimal("0.0003")


def test_cache_share_bills_cached_input_at_the_cache_rate(panel: CatalogPanel) -> None:
    panel.search.value = "gpt-4o-mini"
    panel.cache_share.value = 0.5
    # 500 uncached at 150, 500 cached at 75 (gpt-4o-mini cache read $0.075), 500 out at 600.
    assert panel.cost_of(MINI) == Decimal("0.0004125")


def test_costs_are_sorted_and_charted(catalog: Catalog) -> None:
    panel = catalog_panel(catalog=catalog)
    first = bytes(panel.chart.value)
    panel.search.value = "claude"
    assert panel.costs["cost_nanos"].is_monotonic_increasing
    assert bytes(panel.chart.value).startswith(PNG) and bytes(panel.chart.value) != first
    assert panel.costs["model"].iloc[0] in panel.summary.value


def test_a_trace_is_priced_row_by_row(
    panel: CatalogPanel, conv: pd.DataFrame, catalog: Catalog
) -> None:
    panel.search.value = "gpt-4o-mini"
    panel.source.value = "conv"
    expected = catalog.compare(conv, [MINI]).loc[0, "total_usd"]
    assert float(panel.cost_of(MINI)) == pytest.approx(expected)
    assert "19,366 requests" in panel.summary.value


def test_input_only_models_are_left_out_of_a_usage_with_output(panel: CatalogPanel) -> None:
    panel.search.value = "embedding"
    assert panel.skipped and not set(panel.skipped) & set(panel.costs["model"])
    panel.output_tokens.value = 0
    assert not panel.skipped


def test_price_index_covers_every_listed_model() -> None:
    from govern.catalog import default_catalog
    from govern.panels.catalog_panel import price_index

    catalog = default_catalog()
    index = price_index(catalog)
    assert set(catalog.listed()) <= set(index)
    assert any(name.startswith("bedrock/") for name in index)
