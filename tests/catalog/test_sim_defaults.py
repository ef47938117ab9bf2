"""The offline default prices its `sim` models as the real catalog models."""

from __future__ import annotations

import pytest

from govern.catalog import Catalog
from govern.config import SIM_MODELS, default_config
from tests.catalog.conftest import AT


@pytest.fixture(scope="module")
def default_catalog() -> Catalog:
    return Catalog(default_config(environ={}).pricing)


@pytest.mark.parametrize("model", SIM_MODELS)
def test_every_sim_model_has_a_real_catalog_price(default_catalog: Catalog, model: str) -> None:
    result = default_catalog.price("sim", "sim", model, at=AT)
    assert result is not None
    assert result.source.startswith("alias:") and result.entry is not None
    assert result.entry.startswith("genai-prices:")


def test_sim_gpt_4o_mini_costs_what_openai_gpt_4o_mini_costs(default_catalog: Catalog) -> None:
    sim = default_catalog.price("sim", "sim", "gpt-4o-mini", at=AT)
    real = default_catalog.price("openai", "openai", "gpt-4o-mini", at=AT)
    assert sim is not None and real is not None
    assert sim.price == real.price
    assert sim.source == "alias:openai/gpt-4o-mini"


def test_sim_claude_is_priced_as_anthropic(default_catalog: Catalog) -> None:
    result = default_catalog.price("sim", "sim", "claude-sonnet-4-5", at=AT)
    assert result is not None
    assert result.entry == "genai-prices:anthropic/claude-sonnet-4-5"


def test_module_default_catalog_prices_sim_models() -> None:
    import govern.catalog

    assert govern.catalog.lookup("sim/gpt-4.1-mini") is not None
