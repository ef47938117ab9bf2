"""The genai-prices data behind our own types.

Only token prices are converted (input, output, cache read, cache write 5m/1h, reasoning);
per-request, per-search, audio-second and image prices have no `Usage` bucket and are left
out. Price variants selected by request context (service tier, batch) are not applied:
the gateway bills the standard rates.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from decimal import Decimal
from functools import cache

from genai_prices import data_snapshot
from genai_prices import types as gp

from govern.catalog.prices import CatalogModel, DatedPrice, LongContextTier, Price, TokenRates

# genai-prices price key -> our rate name. `cache_write_mtok` is the default (5-minute)
# write rate; the data names `cache_write_5m_mtok` only where a provider sets it apart.
_KEYS: tuple[tuple[str, str], ...] = (
    ("input_mtok", "input"),
    ("output_mtok", "output"),
    ("cache_read_mtok", "cache_read"),
    ("cache_write_mtok", "cache_write_5m"),
    ("cache_write_5m_mtok", "cache_write_5m"),
    ("cache_write_1h_mtok", "cache_write_1h"),
    ("output_reasoning_mtok", "reasoning"),
)


def bundled_providers() -> list[gp.Provider]:
    """The providers of the data bundled with the installed package (no network)."""
    from genai_prices.data import providers

    return providers


@cache
def bundled_source() -> GenaiSource:
    """One shared, lazily built source over the bundled data (loading it takes ~0.2 s)."""
    return GenaiSource(bundled_providers())


def current_providers() -> list[gp.Provider]:
    """The providers of genai-prices' current snapshot (refreshed data once updated)."""
    return data_snapshot.get_snapshot().providers


class GenaiSource:
    """Model lookup (genai-prices' matching clauses, cached) and conversion to our types."""

    def __init__(self, providers: list[gp.Provider]) -> None:
        self.providers = providers
        self._by_id = {p.id: p for p in providers}
        self._owner = {id(m): p.id for p in providers for m in p.models}
        self._info = {(p.id, m.id): m for p in providers for m in p.models}
        self._found: dict[tuple[str, str], CatalogModel | None] = {}
        self._converted: dict[int, CatalogModel | None] = {}

    def has_provider(self, provider_id: str) -> bool:
        """Whether the data has a provider with this id."""
        return provider_id in self._by_id

    def find(self, provider_id: str, model: str) -> CatalogModel | None:
        """The priced model `model` resolves to at `provider_id` (its fallbacks included)."""
        key = (provider_id, model.lower())
        if key in self._found:
            return self._found[key]
        provider = self._by_id.get(provider_id)
        info = (
            None if provider is None else provider.find_model(model, all_providers=self.providers)
        )
        found = None if info is None else self.convert(info)
        if len(self._found) > 100_000:  # model names come from clients: keep memory bounded
            self._found.clear()
        self._found[key] = found
        return found

    def convert(self, info: gp.ModelInfo) -> CatalogModel | None:
        """Our view of a genai-prices model; None when it has no token prices."""
        if id(info) not in self._converted:
            self._converted[id(info)] = _convert(self._owner.get(id(info), "?"), info)
        return self._converted[id(info)]

    def match_names(self, model: CatalogModel) -> list[str]:
        """The literal model names in a model's matching clause, exact names first, then
        prefixes, substrings and suffixes (regular expressions give none)."""
        info = self._info.get((model.provider, model.id))
        if info is None:
            return []
        found: dict[type, list[str]] = {kind: [] for kind, _ in _LITERALS}
        _collect(info.match, found)
        return [name for kind, _ in _LITERALS for name in found[kind]]

    def models(self) -> Iterator[CatalogModel]:
        """Every model with token prices, provider by provider."""
        for provider in self.providers:
            for info in provider.models:
                model = self.convert(info)
                if model is not None:
                    yield model


_LITERALS: tuple[tuple[type, str], ...] = (
    (gp.ClauseEquals, "equals"),
    (gp.ClauseStartsWith, "starts_with"),
    (gp.ClauseContains, "contains"),
    (gp.ClauseEndsWith, "ends_with"),
)


def _collect(clause: gp.MatchLogic, found: dict[type, list[str]]) -> None:
    if isinstance(clause, gp.ClauseOr):
        for part in clause.or_:
            _collect(part, found)
    elif isinstance(clause, gp.ClauseAnd):
        for part in clause.and_:
            _collect(part, found)
    else:
        for kind, attribute in _LITERALS:
            if isinstance(clause, kind):
                found[kind].append(getattr(clause, attribute))


def _convert(provider_id: str, info: gp.ModelInfo) -> CatalogModel | None:
    if isinstance(info.prices, gp.ModelPrice):
        conditional = [gp.ConditionalPrice(prices=info.prices)]
    else:
        conditional = list(info.prices)
    dated: list[DatedPrice] = []
    for cp in conditional:
        price = convert_price(cp.prices)
        if price is None:
            # An empty price means "free" for some models and "unknown" for others: a
            # model is only priced when every condition has token prices.
            return None
        dated.append(_dated(price, cp.constraint))
    if not dated:
        return None
    return CatalogModel(
        provider=provider_id,
        id=info.id,
        name=info.name,
        prices=tuple(dated),
        context_window=info.context_window,
        deprecated=bool(info.deprecated),
    )


def _dated(
    price: Price, constraint: gp.StartDateConstraint | gp.TimeOfDateConstraint | None
) -> DatedPrice:
    if isinstance(constraint, gp.StartDateConstraint):
        return DatedPrice(price=price, since=constraint.start_date)
    if isinstance(constraint, gp.TimeOfDateConstraint):
        daily = (_utc(constraint.start_time), _utc(constraint.end_time))
        return DatedPrice(price=price, daily=daily)
    return DatedPrice(price=price)


def _utc(value: time) -> time:
    """A time of day in UTC, without tzinfo (naive times in the data are UTC)."""
    offset = value.utcoffset()
    if offset is None:
        return value
    seconds = (
        value.hour * 3600 + value.minute * 60 + value.second - int(offset.total_seconds())
    ) % 86400
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, value.microsecond)


def convert_price(model_price: gp.ModelPrice) -> Price | None:
    """Our `Price` for a genai-prices `ModelPrice`; None without an input price.

    Per-field tiers become whole-request tiers: each distinct threshold gets a full set
    of rates, each field at its own tier's rate for that threshold.
    """
    raw: dict[str, Decimal | gp.TieredPrices] = {}
    for key, name in _KEYS:
        value = getattr(model_price, key, None)
        if value is not None:
            raw[name] = value
    if "input" not in raw:
        return None
    thresholds = sorted(
        {t.start for v in raw.values() if isinstance(v, gp.TieredPrices) for t in v.tiers}
    )
    base = _rates({name: _rate_at(v, None) for name, v in raw.items()})
    tiers = tuple(
        LongContextTier(
            above_input_tokens=start,
            rates=_rates({name: _rate_at(v, start) for name, v in raw.items()}),
        )
        for start in thresholds
    )
    return Price.with_tiers(base, tiers)


def _rate_at(value: Decimal | gp.TieredPrices, threshold: int | None) -> Decimal:
    if not isinstance(value, gp.TieredPrices):
        return value
    rate = value.base
    if threshold is not None:
        for tier in value.tiers:  # sorted ascending by genai-prices
            if tier.start <= threshold:
                rate = tier.price
    return rate


def _rates(values: dict[str, Decimal]) -> TokenRates:
    return TokenRates.of(
        values["input"],
        values.get("output"),
        cache_read=values.get("cache_read"),
        cache_write_5m=values.get("cache_write_5m"),
        cache_write_1h=values.get("cache_write_1h"),
        reasoning=values.get("reasoning"),
    )
