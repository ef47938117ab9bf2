"""The model catalog: prices (genai-prices' bundled data plus config overrides), limits,
and the exact cost of a `Usage`.

    >>> import govern.catalog
    >>> govern.catalog.models("sonnet")                        # a DataFrame
    >>> govern.catalog.compare(usage, ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"])
    >>> govern.catalog.lookup("openai/gpt-4o-mini").price.input
    Decimal('0.15')

The module-level functions use a default `Catalog` built lazily from the offline default
configuration's pricing (so `sim/...` models are listed too).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from govern.catalog.catalog import Catalog
from govern.catalog.cost import (
    CostBreakdown,
    InvalidUsage,
    NanoCost,
    NoOutputPrice,
    check_usage,
    cost,
    cost_at_rates,
    from_nanos,
    nano_cost,
    to_nanos,
)
from govern.catalog.policy import ModelUnpriced, UnpricedDecision, unpriced_decision
from govern.catalog.prices import (
    MTOK,
    CatalogModel,
    DatedPrice,
    LongContextTier,
    Price,
    PriceResult,
    TokenRates,
)
from govern.usage import Usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

__all__ = [
    "MTOK",
    "Catalog",
    "CatalogModel",
    "CostBreakdown",
    "DatedPrice",
    "InvalidUsage",
    "LongContextTier",
    "ModelUnpriced",
    "NanoCost",
    "NoOutputPrice",
    "Price",
    "PriceResult",
    "TokenRates",
    "UnpricedDecision",
    "check_usage",
    "compare",
    "cost",
    "cost_at_rates",
    "default_catalog",
    "from_nanos",
    "lookup",
    "models",
    "nano_cost",
    "to_nanos",
    "unpriced_decision",
]


@cache
def default_catalog() -> Catalog:
    """The catalog of the offline default configuration, built on first use."""
    from govern.config import default_config

    return Catalog(default_config(environ={}).pricing)


def lookup(ref: str, *, at: datetime | None = None) -> PriceResult | None:
    """The price of `provider/model` in the default catalog (None when it has none)."""
    return default_catalog().lookup(ref, at=at)


def models(
    query: str | None = None, provider: str | None = None, *, at: datetime | None = None
) -> pd.DataFrame:
    """Priced models with rates per MTok, context window and provider, as a DataFrame.

    Every row's `provider/model` is a name `lookup()` and `compare()` accept and price as
    the row shows. `provider` is the gateway's provider name (`bedrock`, not genai-prices'
    `aws`; other catalog providers keep their id) and `model` the name a call uses (Bedrock
    `regional.*` entries as `us.<model id>`, Fireworks models as
    `accounts/fireworks/models/...`); `entry` names the genai-prices entry, `source` where
    the price comes from. The config's unscoped overrides are listed under their provider
    (`*`: any provider). `provider=` accepts a gateway name, catalog id or alias.
    """
    return default_catalog().models(query, provider, at=at)


def compare(
    usage_or_trace: Usage | pd.DataFrame, models: Sequence[str], *, at: datetime | None = None
) -> pd.DataFrame:
    """The cost of a `Usage` (or of a trace DataFrame) at each model, cheapest first."""
    return default_catalog().compare(usage_or_trace, models, at=at)
