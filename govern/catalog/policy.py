"""The unpriced policy: what happens to a call whose model has no price. Never a silent $0."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from govern.catalog.prices import Price, PriceResult
from govern.config import ChargeUnpriced
from govern.errors import PermissionDenied

UnpricedSetting = Literal["reject", "allow"] | ChargeUnpriced | None
"""`pricing.unpriced` as the config holds it."""

DEFAULT_PRICE_SOURCE = "unpriced:default"


class ModelUnpriced(PermissionDenied):
    """The model has no price and the unpriced policy rejects it (403 `model_unpriced`)."""

    def __init__(self, provider: str, model: str) -> None:
        super().__init__(
            f"model {provider}/{model} has no price in the catalog and a budget applies: "
            "add a price override (or `pricing_as`) for it, or set `pricing.unpriced`",
            code="model_unpriced",
            param="model",
        )
        self.provider = provider
        self.model = model


class UnpricedDecision(Struct, frozen=True, kw_only=True):
    """The policy's answer for one unpriced call."""

    action: Literal["reject", "allow", "charge"]
    """`reject`: refuse the call. `allow`: make it, logged unpriced with no cost.
    `charge`: make it and bill `price` (still logged as unpriced)."""
    price: PriceResult | None = None
    """The default price, for `charge`."""


def unpriced_decision(setting: UnpricedSetting, *, budgeted: bool) -> UnpricedDecision:
    """Apply `pricing.unpriced`; unset, reject when a budget applies to the caller, else allow."""
    if isinstance(setting, ChargeUnpriced):
        return UnpricedDecision(action="charge", price=default_price(setting))
    if setting is None:
        return UnpricedDecision(action="reject" if budgeted else "allow")
    return UnpricedDecision(action=setting)


def default_price(setting: ChargeUnpriced) -> PriceResult:
    """The policy's default price as a price result flagged `unpriced`."""
    charge = setting.charge
    return PriceResult(
        price=Price.of(charge.input_per_mtok, charge.output_per_mtok),
        source=DEFAULT_PRICE_SOURCE,
        unpriced=True,
    )
