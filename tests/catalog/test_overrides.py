"""Config overrides: the most specific wins, `pricing_as` aliases, unit-mistake checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from govern.catalog import Catalog
from govern.config import PriceOverride, PricingConfig, config_from_dict
from govern.errors import ConfigError
from tests.catalog.conftest import AT


def _override(price: int, **scope: Any) -> PriceOverride:
    return PriceOverride(input_per_mtok=Decimal(price), output_per_mtok=Decimal(price), **scope)


@pytest.fixture
def layered() -> Catalog:
    return Catalog(
        PricingConfig(
            overrides=[
                _override(1, model="gpt-4o-mini"),
                _override(2, model="gpt-4o-mini", provider="openai"),
                _override(3, model="gpt-4o-mini", key="team-key"),
                _override(4, model="gpt-4o-mini", virtual_key="vk-1"),
            ]
        )
    )


def _input(
    catalog: Catalog,
    provider: str = "openai",
    key: str | None = None,
    virtual_key: str | None = None,
) -> Decimal | None:
    result = catalog.price("openai", provider, "gpt-4o-mini", key=key, virtual_key=virtual_key)
    return None if result is None else result.price.input


def test_model_only_override_applies_to_any_provider(layered: Catalog) -> None:
    assert _input(layered, "corp-proxy") == 1


def test_provider_override_beats_model_only(layered: Catalog) -> None:
    assert _input(layered) == 2


def test_key_override_beats_provider(layered: Catalog) -> None:
    assert _input(layered, key="team-key") == 3


def test_virtual_key_override_beats_everything(layered: Catalog) -> None:
    assert _input(layered, key="team-key", virtual_key="vk-1") == 4


def test_other_virtual_key_gets_the_next_most_specific(layered: Catalog) -> None:
    assert _input(layered, key="other", virtual_key="vk-2") == 2


def test_provider_slash_model_override_counts_as_naming_the_provider() -> None:
    catalog = Catalog(
        PricingConfig(
            overrides=[_override(1, model="gpt-4o-mini"), _override(5, model="groq/gpt-4o-mini")]
        )
    )
    assert (_input(catalog, "groq"), _input(catalog, "openai")) == (Decimal(5), Decimal(1))


def test_override_source_names_the_selector(layered: Catalog) -> None:
    result = layered.price("openai", "openai", "gpt-4o-mini", key="team-key")
    assert result is not None
    assert result.source == "override:gpt-4o-mini[key=team-key]"


def test_override_prices_an_unknown_model_with_defaults_for_cache_rates() -> None:
    catalog = Catalog(
        PricingConfig(
            overrides=[
                PriceOverride(
                    model="llama-local",
                    input_per_mtok=Decimal("0.2"),
                    output_per_mtok=Decimal("0.4"),
                )
            ]
        )
    )
    result = catalog.price("openai", "ollama", "llama-local")
    assert result is not None
    assert (result.price.cache_read, result.price.reasoning) == (Decimal("0.2"), Decimal("0.4"))


def test_pricing_as_prices_like_the_catalog_model() -> None:
    catalog = Catalog(
        PricingConfig(
            overrides=[
                PriceOverride(
                    model="my-sonnet", provider="vllm", pricing_as="anthropic/claude-sonnet-4-5"
                )
            ]
        )
    )
    result = catalog.price("openai", "vllm", "my-sonnet", at=AT)
    reference = catalog.price("anthropic", "anthropic", "claude-sonnet-4-5", at=AT)
    assert result is not None and reference is not None
    assert result.price == reference.price  # long-context tiers included
    assert result.source == "alias:anthropic/claude-sonnet-4-5"
    assert result.entry == "genai-prices:anthropic/claude-sonnet-4-5"


def test_pricing_as_an_unknown_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"pricing\.overrides\[0\]\.pricing_as"):
        Catalog(PricingConfig(overrides=[PriceOverride(model="m", pricing_as="openai/gpt-99")]))


def _config(override: dict[str, Any]) -> None:
    config_from_dict({"pricing": {"overrides": [override]}})


def test_per_token_price_above_one_cent_is_rejected_naming_the_field() -> None:
    # 20,000 per MTok = $0.02 per token: surely a per-token or per-1K price.
    with pytest.raises(ConfigError, match=r"pricing\.overrides\[0\]\.output_per_mtok.*per token"):
        _config({"model": "m", "input_per_mtok": 1, "output_per_mtok": 20_000})


def test_one_cent_per_token_exactly_is_accepted() -> None:
    _config({"model": "m", "input_per_mtok": 10_000, "output_per_mtok": 10_000})


def test_negative_price_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"overrides\[0\]\.cache_read_per_mtok"):
        _config(
            {"model": "m", "input_per_mtok": 1, "output_per_mtok": 1, "cache_read_per_mtok": -1}
        )


def test_override_without_output_price_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"overrides\[0\]\.output_per_mtok: required"):
        _config({"model": "m", "input_per_mtok": 1})


def test_pricing_as_with_prices_is_rejected() -> None:
    with pytest.raises(ConfigError, match="not allowed with `pricing_as`"):
        _config({"model": "m", "pricing_as": "openai/gpt-4o", "input_per_mtok": 1})


def test_two_overrides_with_the_same_selector_are_rejected() -> None:
    override = {"model": "m", "provider": "p", "input_per_mtok": 1, "output_per_mtok": 1}
    with pytest.raises(ConfigError, match=r"overrides\[1\]: another override"):
        config_from_dict({"pricing": {"overrides": [override, override]}})


def test_default_charge_price_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"pricing\.unpriced\.charge\.input_per_mtok"):
        config_from_dict(
            {"pricing": {"unpriced": {"charge": {"input_per_mtok": 50_000, "output_per_mtok": 1}}}}
        )
