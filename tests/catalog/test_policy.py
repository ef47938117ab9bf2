"""The unpriced policy: reject, allow (no cost), or charge a default. Never a silent $0."""

from __future__ import annotations

from decimal import Decimal

import pytest

from govern.catalog import Catalog, ModelUnpriced, cost, unpriced_decision
from govern.config import ChargeUnpriced, DefaultPrice, PricingConfig
from govern.usage import Usage


def test_unset_policy_rejects_when_a_budget_applies() -> None:
    assert unpriced_decision(None, budgeted=True).action == "reject"


def test_unset_policy_allows_without_a_budget() -> None:
    decision = unpriced_decision(None, budgeted=False)
    assert (decision.action, decision.price) == ("allow", None)


def test_explicit_allow_holds_even_with_a_budget() -> None:
    assert unpriced_decision("allow", budgeted=True).action == "allow"


def test_charge_gives_a_default_price_flagged_unpriced() -> None:
    setting = ChargeUnpriced(
        charge=DefaultPrice(input_per_mtok=Decimal(1), output_per_mtok=Decimal(2))
    )
    decision = unpriced_decision(setting, budgeted=True)
    assert decision.action == "charge" and decision.price is not None
    assert decision.price.unpriced and decision.price.source == "unpriced:default"
    # 1,000 x 1 / 1e6 + 500 x 2 / 1e6 = 0.001 + 0.001
    assert cost(Usage(input_tokens=1_000, output_tokens=500), decision.price).total == Decimal(
        "0.002"
    )


def test_price_call_raises_model_unpriced_on_reject() -> None:
    catalog = Catalog(PricingConfig(unpriced="reject"))
    with pytest.raises(ModelUnpriced) as info:
        catalog.price_call("openai", "ollama", "llama-local", budgeted=False)
    assert (info.value.status, info.value.code) == (403, "model_unpriced")


def test_price_call_returns_none_when_allowed() -> None:
    catalog = Catalog(PricingConfig(unpriced="allow"))
    assert catalog.price_call("openai", "ollama", "llama-local", budgeted=True) is None


def test_price_call_returns_the_catalog_price_when_there_is_one() -> None:
    catalog = Catalog(PricingConfig(unpriced="reject"))
    result = catalog.price_call("openai", "openai", "gpt-4o-mini", budgeted=True)
    assert result is not None and not result.unpriced
