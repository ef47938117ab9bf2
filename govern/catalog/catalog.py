"""`Catalog`: the price of a call, from config overrides first, then genai-prices' data."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from genai_prices import data_snapshot
from genai_prices.update_prices import UpdatePrices

from govern.catalog.genai import GenaiSource, bundled_source
from govern.catalog.overrides import OverrideIndex, override_price, selector
from govern.catalog.policy import ModelUnpriced, unpriced_decision
from govern.catalog.prices import CatalogModel, DatedPrice, PriceResult
from govern.catalog.regions import (
    catalog_provider,
    gateway_provider,
    regional_names,
    split_catalog_ref,
    split_region,
)
from govern.config import PriceOverride, PricingConfig
from govern.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    import pandas as pd

    from govern.usage import Usage

log = logging.getLogger("govern.catalog")

# Each resolved call: its dated prices with the PriceResult built for each, so that a
# lookup is a dict hit plus (for the rare model whose price changes over time) a scan.
_Resolved = tuple[tuple[DatedPrice, PriceResult], ...]
_CACHE_LIMIT = 65_536


class Catalog:
    """Prices of models: config overrides (most specific first), then the catalog data.

    The data is genai-prices' bundled snapshot, read offline; with `refresh` on, `start()`
    runs genai-prices' own updater and the catalog follows each new snapshot.
    """

    def __init__(
        self, pricing: PricingConfig | None = None, *, source: GenaiSource | None = None
    ) -> None:
        self.pricing = pricing or PricingConfig()
        self._overrides = OverrideIndex(self.pricing.overrides)
        self._source = source or bundled_source()
        self._cache: dict[tuple[str, str, str, str | None, str | None], _Resolved | None] = {}
        self._updater: UpdatePrices | None = None
        self._snapshot: object = None
        self._listed: dict[str, CatalogModel] | None = None
        self._unpriced = {
            budgeted: unpriced_decision(self.pricing.unpriced, budgeted=budgeted)
            for budgeted in (False, True)
        }
        self._warned: set[tuple[str, str]] = set()
        for i, override in enumerate(self.pricing.overrides):
            if override.pricing_as is not None and self._alias(override) is None:
                raise ConfigError(
                    f"pricing.overrides[{i}].pricing_as: {override.pricing_as!r} is not a "
                    "catalog model (use `provider/model`, e.g. `openai/gpt-4o-mini`; "
                    "`govern.catalog.models()` lists them)"
                )

    @property
    def source(self) -> GenaiSource:
        """The catalog data in use."""
        return self._source

    @property
    def overrides(self) -> list[PriceOverride]:
        """The config's price overrides."""
        return self.pricing.overrides

    def price(
        self,
        provider_kind: str,
        provider_name: str,
        model: str,
        *,
        key: str | None = None,
        virtual_key: str | None = None,
        at: datetime | None = None,
    ) -> PriceResult | None:
        """The price of `model` called at provider `provider_name` (of wire protocol
        `provider_kind`) with provider key `key` for virtual key `virtual_key`, at time `at`
        (default now); None when neither an override nor the catalog prices it."""
        if self._updater is not None:
            self._follow_snapshot()
        cache_key = (
            provider_kind,
            provider_name,
            model,
            key if self._overrides.uses_keys else None,
            virtual_key if self._overrides.uses_virtual_keys else None,
        )
        try:
            resolved = self._cache[cache_key]
        except KeyError:
            resolved = self._resolve(provider_kind, provider_name, model, key, virtual_key)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[cache_key] = resolved
        if resolved is None:
            return None
        if len(resolved) == 1:
            return resolved[0][1]
        when = at or datetime.now(UTC)
        # As genai-prices: the last price in force wins, else the first one.
        return next((r for d, r in reversed(resolved) if d.active(when)), resolved[0][1])

    def price_call(
        self,
        provider_kind: str,
        provider_name: str,
        model: str,
        *,
        budgeted: bool,
        key: str | None = None,
        virtual_key: str | None = None,
        at: datetime | None = None,
    ) -> PriceResult | None:
        """The price to bill a call at: `price()`, else what the unpriced policy says: the
        default price (flagged `unpriced`), None (allowed: log it unpriced, cost null), or
        ModelUnpriced raised (rejected). `budgeted`: a budget applies to the caller."""
        result = self.price(
            provider_kind, provider_name, model, key=key, virtual_key=virtual_key, at=at
        )
        if result is not None:
            return result
        decision = self._unpriced[budgeted]
        if (provider_name, model) not in self._warned and len(self._warned) < 10_000:
            self._warned.add((provider_name, model))
            log.warning(
                "catalog: no price for %s/%s (unpriced policy: %s)",
                provider_name,
                model,
                decision.action,
            )
        if decision.action == "reject":
            raise ModelUnpriced(provider_name, model)
        return decision.price

    def lookup(self, ref: str, *, at: datetime | None = None) -> PriceResult | None:
        """The price of `provider/model` as the catalog or an unscoped override has it
        (`openai/gpt-4o-mini`, `bedrock/us.anthropic...`, `sim/gpt-4o-mini`; `*/model`:
        only an override for `model` at any provider prices it)."""
        provider, _, model = ref.partition("/")
        if not model:
            raise ValueError(f"{ref!r}: expected `provider/model`")
        return self.price(provider, provider, model, at=at)

    def entry(self, provider_kind: str, provider_name: str, model: str) -> CatalogModel | None:
        """The catalog entry `model` resolves to at this provider, ignoring overrides."""
        found = self._find(provider_kind, provider_name, model)
        return None if found is None else found[0]

    def entries(self) -> Iterator[CatalogModel]:
        """Every priced model of the catalog data."""
        return self._source.models()

    def listed(self) -> Mapping[str, CatalogModel]:
        """Every priced catalog entry by the `provider/model` name that resolves to it,
        as a call would name it (`bedrock/us.anthropic...` for a `regional.*` entry,
        `fireworks/accounts/fireworks/models/...`); the provider is the gateway's name
        (`bedrock`, not `aws`). An entry that no name resolves to is left out."""
        if self._listed is None:
            listed: dict[str, CatalogModel] = {}
            for entry in self._source.models():
                name = self._listed_name(entry)
                if name is None:
                    log.debug("catalog: no model name resolves to %s", entry.ref)
                else:
                    listed[name] = entry
            self._listed = listed
        return self._listed

    def _listed_name(self, entry: CatalogModel) -> str | None:
        """The first of the entry's regional ids (`us.` for `regional.`: its id resolves too,
        but no call uses it), its id and the names in its matching clause that the catalog
        resolves (through the gateway provider) to this entry."""
        provider = gateway_provider(entry.provider)
        for model in (*regional_names(entry.id), entry.id, *self._source.match_names(entry)):
            found = self._find(provider, provider, model)
            if found is not None and found[0].source == entry.source:
                return f"{provider}/{model}"
        return None

    def models(
        self, query: str | None = None, provider: str | None = None, *, at: datetime | None = None
    ) -> pd.DataFrame:
        """Priced models, one row per name `lookup()` accepts (provider: the gateway's name,
        `bedrock` for `aws`), with rates per MTok and context window (a DataFrame); see
        `govern.catalog.frames.models` for the naming."""
        from govern.catalog.frames import models

        return models(self, query, provider, at=at)

    def compare(
        self,
        usage_or_trace: Usage | pd.DataFrame,
        models: Sequence[str],
        *,
        at: datetime | None = None,
    ) -> pd.DataFrame:
        """The cost of a `Usage`, or of a trace DataFrame, at each model, cheapest first."""
        from govern.catalog.frames import compare

        return compare(self, usage_or_trace, models, at=at)

    def _resolve(
        self, kind: str, name: str, model: str, key: str | None, virtual_key: str | None
    ) -> _Resolved | None:
        override = self._overrides.match(name, model, key, virtual_key)
        if override is None:
            found = self._find(kind, name, model)
            return None if found is None else _results(*found, source=None)
        if override.pricing_as is None:
            result = PriceResult(
                price=override_price(override), source=f"override:{selector(override)}"
            )
            return ((DatedPrice(price=result.price), result),)
        alias = self._alias(override)
        return None if alias is None else _results(*alias, source=f"alias:{override.pricing_as}")

    def _alias(self, override: PriceOverride) -> tuple[CatalogModel, str | None, bool] | None:
        provider, model = split_catalog_ref(override.pricing_as or "")
        return self._find(provider, provider, model)

    def _find(
        self, kind: str, name: str, model: str
    ) -> tuple[CatalogModel, str | None, bool] | None:
        """The catalog entry, the Bedrock region prefix, and whether the region's entry
        (rather than the base model's) was used."""
        provider = catalog_provider(kind, name, self._source.has_provider)
        if provider is None:
            return None
        region, base = split_region(model) if provider == "aws" else (None, model)
        if region is not None:
            entry = self._source.find(provider, f"{region}.{base}")
            if entry is not None and _serves_region(entry.id, region):
                return entry, region, True
        entry = self._source.find(provider, base)
        return None if entry is None else (entry, region, False)

    def start(self, *, url: str | None = None) -> None:
        """Start genai-prices' background price updates when `refresh` is on (from `url`,
        default genai-prices' own); until the first update the bundled prices apply."""
        if self.pricing.refresh and self._updater is None:
            self._updater = UpdatePrices() if url is None else UpdatePrices(url=url)
            self._snapshot = data_snapshot.get_snapshot()
            self._updater.start()
            log.info("catalog: refreshing prices from %s", self._updater.url)

    def wait_refreshed(self, timeout: float | None = None) -> bool:
        """Wait for a price update (False: none within `timeout`, or refresh is off)."""
        return self._updater is not None and bool(self._updater.wait(timeout))

    def close(self) -> None:
        """Stop the background price updates, if any."""
        if self._updater is not None:
            self._updater.stop()  # type: ignore[no-untyped-call]
            self._updater = None

    def _follow_snapshot(self) -> None:
        snapshot = data_snapshot.get_snapshot()
        if snapshot is not self._snapshot:
            self._snapshot = snapshot
            self._source = GenaiSource(snapshot.providers)
            self._cache.clear()
            self._listed = None
            log.info("catalog: prices updated (%d providers)", len(snapshot.providers))


def _serves_region(entry_id: str, region: str) -> bool:
    """Whether a catalog entry is specific to the region prefix of the called id."""
    scope = entry_id.split(".", 1)[0]
    return scope == region or (scope == "regional" and region != "global")


def _results(
    entry: CatalogModel, region: str | None, region_entry: bool, *, source: str | None
) -> _Resolved:
    return tuple(
        (
            dated,
            PriceResult(
                price=dated.price,
                source=source or entry.source,
                entry=entry.source,
                region=region,
                region_basis=None if region is None else ("region" if region_entry else "base"),
                context_window=entry.context_window,
                max_output_tokens=entry.max_output_tokens,
            ),
        )
        for dated in entry.prices
    )
