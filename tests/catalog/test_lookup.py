"""Catalog lookup: which entry prices a call, from which provider, and when."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from govern.catalog import Catalog
from tests.catalog.conftest import AT


def test_unknown_model_has_no_price(catalog: Catalog) -> None:
    assert catalog.price("openai", "openai", "gpt-nonexistent-9") is None


def test_sim_provider_without_an_override_has_no_price(catalog: Catalog) -> None:
    assert catalog.price("sim", "sim", "gpt-4o-mini") is None


def test_source_names_the_catalog_entry(catalog: Catalog) -> None:
    price = catalog.price("anthropic", "anthropic", "claude-sonnet-4-5-20250929", at=AT)
    assert price is not None
    assert price.source == "genai-prices:anthropic/claude-sonnet-4-5"
    assert price.context_window == 200_000


def test_provider_named_after_a_catalog_provider_uses_its_prices(catalog: Catalog) -> None:
    # An OpenAI-compatible provider named `groq` is priced from Groq's entries.
    price = catalog.price("openai", "groq", "llama-3.1-8b-instant", at=AT)
    assert price is not None
    assert price.source == "genai-prices:groq/llama-3.1-8b-instant"


def test_openai_compatible_provider_under_another_name_uses_openai_prices(
    catalog: Catalog,
) -> None:
    price = catalog.price("openai", "corp-proxy", "gpt-4o-mini", at=AT)
    assert price is not None
    assert price.source == "genai-prices:openai/gpt-4o-mini"


def test_catalog_fallback_provider_names_the_owning_entry(catalog: Catalog) -> None:
    # Azure's data falls back to OpenAI's models for the ones it does not list itself.
    price = catalog.price("openai", "azure", "gpt-4o-mini", at=AT)
    assert price is not None
    assert price.source == "genai-prices:openai/gpt-4o-mini"


def test_model_without_token_prices_is_unpriced(catalog: Catalog) -> None:
    # genai-prices lists moderation (free) and `:free` models with an empty price; an
    # empty price is not taken as $0.
    assert catalog.price("openai", "openai", "omni-moderation-latest") is None
    assert catalog.price("openai", "openrouter", "agentica-org/deepcoder-14b-preview:free") is None


def test_embedding_model_has_an_input_price_only(catalog: Catalog) -> None:
    price = catalog.price("openai", "openai", "text-embedding-3-small", at=AT)
    assert price is not None
    assert (price.price.input, price.price.output) == (Decimal("0.02"), None)


def test_off_peak_price_follows_the_time_of_day(catalog: Catalog) -> None:
    # deepseek-chat: $0.27 input from 00:30 to 16:30 UTC, $0.135 off-peak.
    day = catalog.price(
        "openai", "deepseek", "deepseek-chat", at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    )
    night = catalog.price(
        "openai", "deepseek", "deepseek-chat", at=datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    )
    assert day is not None and night is not None
    assert (day.price.input, night.price.input) == (Decimal("0.27"), Decimal("0.135"))


def test_repeated_lookup_is_served_from_the_cache(catalog: Catalog) -> None:
    first = catalog.price("openai", "openai", "gpt-4o-mini")
    assert catalog.price("openai", "openai", "gpt-4o-mini") is first


def test_lookup_by_reference_accepts_the_gateway_name_bedrock(catalog: Catalog) -> None:
    price = catalog.lookup("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", at=AT)
    assert price is not None
    assert price.price.input == Decimal("3.3")
