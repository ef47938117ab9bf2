"""The model catalog's overrides and the policy for unpriced models."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct, field

from govern.config.base import STRICT as _Strict
from govern.errors import ConfigError


class PriceOverride(Struct, **_Strict):
    """A price for one model, replacing or extending the catalog's.

    The most specific matching override wins: virtual key, then provider key, then
    provider, then model alone. Prices are US dollars per million tokens (`per_mtok`); a
    price above 10000 ($0.01 per token) is rejected as a probable unit mistake.
    """

    model: str
    """The model as the upstream knows it (`gpt-4o-mini`), or `provider/model`."""
    provider: str | None = None
    """Only calls to this provider (its name in `providers`)."""
    key: str | None = None
    """Only calls made with this provider key (its `name`)."""
    virtual_key: str | None = None
    """Only calls made with this virtual key (its id; see the governance section)."""
    pricing_as: str | None = None
    """Price exactly like this catalog model (`openai/gpt-4o-mini`, `aws/...`); it must
    exist in the catalog. Exclusive with the `*_per_mtok` prices."""
    input_per_mtok: Decimal | None = None
    """Uncached input tokens; required (with `output_per_mtok`) unless `pricing_as` is set."""
    output_per_mtok: Decimal | None = None
    """Output tokens (reasoning included, unless `reasoning_per_mtok` is set)."""
    cache_read_per_mtok: Decimal | None = None
    """Input tokens read from the provider's prompt cache (default: the input price)."""
    cache_write_per_mtok: Decimal | None = None
    """Input tokens written to the prompt cache, 5-minute lifetime (default: the input
    price)."""
    cache_write_1h_per_mtok: Decimal | None = None
    """Input tokens written to the prompt cache with a 1-hour lifetime (default: the
    5-minute write price)."""
    reasoning_per_mtok: Decimal | None = None
    """Reasoning tokens, where a provider prices them apart from output."""


class DefaultPrice(Struct, **_Strict):
    """The price charged for models the catalog does not know (`unpriced: {charge: ...}`)."""

    input_per_mtok: Decimal
    """Input tokens, dollars per million."""
    output_per_mtok: Decimal
    """Output tokens, dollars per million."""


class ChargeUnpriced(Struct, **_Strict):
    """`unpriced: {charge: {input_per_mtok, output_per_mtok}}`."""

    charge: DefaultPrice
    """The default price."""


class PricingConfig(Struct, **_Strict):
    """The model catalog: genai-prices' bundled data plus these overrides."""

    overrides: list[PriceOverride] = field(default_factory=list)
    """Per-model prices and aliases; see PriceOverride."""
    unpriced: Literal["reject", "allow"] | ChargeUnpriced | None = None
    """What to do with a model that has no price: `reject` it, `allow` it (logged as
    unpriced, never as $0), or `charge` a default price. Unset: reject when a budget
    applies to the caller, else allow."""
    refresh: bool = False
    """Download newer prices at start (off: the bundled data works offline)."""


MAX_PER_MTOK = Decimal(10_000)
"""$0.01 per token: a higher `per_mtok` price is almost surely a per-token or per-1K price."""
_PRICE_FIELDS: tuple[str, ...] = (
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "cache_write_1h_per_mtok",
    "reasoning_per_mtok",
)


def _check_price(where: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{where}: a price must be a number >= 0, got {value}")
    if value > MAX_PER_MTOK:
        raise ConfigError(
            f"{where}: {value} dollars per million tokens is ${value / 1_000_000} per token, "
            f"above the $0.01 limit; prices are per million tokens (per_mtok), was this a "
            f"per-token or per-1K price?"
        )


def _validate_pricing(pricing: PricingConfig) -> None:
    seen: set[tuple[str, str | None, str | None, str | None]] = set()
    for i, o in enumerate(pricing.overrides):
        where = f"pricing.overrides[{i}]"
        for name in _PRICE_FIELDS:
            _check_price(f"{where}.{name}", getattr(o, name))
        priced = [name for name in _PRICE_FIELDS if getattr(o, name) is not None]
        if o.pricing_as is not None and priced:
            raise ConfigError(f"{where}.{priced[0]}: not allowed with `pricing_as`")
        if o.pricing_as is None:
            for name in ("input_per_mtok", "output_per_mtok"):
                if getattr(o, name) is None:
                    raise ConfigError(f"{where}.{name}: required unless `pricing_as` is set")
        selector = (o.model, o.provider, o.key, o.virtual_key)
        if selector in seen:
            raise ConfigError(
                f"{where}: another override has the same model, provider, key and virtual_key"
            )
        seen.add(selector)
    if isinstance(pricing.unpriced, ChargeUnpriced):
        for name in ("input_per_mtok", "output_per_mtok"):
            _check_price(f"pricing.unpriced.charge.{name}", getattr(pricing.unpriced.charge, name))
