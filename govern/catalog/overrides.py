"""Price overrides from the config: which one applies to a call, and its price."""

from __future__ import annotations

from collections.abc import Sequence

from govern.catalog.prices import Price
from govern.config import PriceOverride


def override_price(override: PriceOverride) -> Price:
    """The price an override states (it must not be a `pricing_as` alias)."""
    if override.input_per_mtok is None or override.output_per_mtok is None:
        raise ValueError(f"override for {override.model!r} needs input and output prices")
    return Price.of(
        override.input_per_mtok,
        override.output_per_mtok,
        cache_read=override.cache_read_per_mtok,
        cache_write_5m=override.cache_write_per_mtok,
        cache_write_1h=override.cache_write_1h_per_mtok,
        reasoning=override.reasoning_per_mtok,
    )


def selector(override: PriceOverride) -> str:
    """How an override is named in a price source: `model[provider=..,key=..]`."""
    scope = [
        f"{name}={value}"
        for name in ("provider", "key", "virtual_key")
        if (value := getattr(override, name)) is not None
    ]
    return override.model + (f"[{','.join(scope)}]" if scope else "")


def specificity(override: PriceOverride) -> tuple[bool, bool, bool]:
    """Sort key: a virtual key beats a provider key, which beats a provider."""
    return (
        override.virtual_key is not None,
        override.key is not None,
        override.provider is not None,
    )


class OverrideIndex:
    """The overrides by model name, for the most specific match of a call."""

    def __init__(self, overrides: Sequence[PriceOverride]) -> None:
        self._by_model: dict[str, list[PriceOverride]] = {}
        for override in overrides:
            self._by_model.setdefault(override.model, []).append(override)
        for candidates in self._by_model.values():
            candidates.sort(key=specificity, reverse=True)
        self.uses_keys = any(o.key is not None for o in overrides)
        """Whether any override depends on the provider key (else it is not cached on)."""
        self.uses_virtual_keys = any(o.virtual_key is not None for o in overrides)
        """Whether any override depends on the virtual key."""

    def match(
        self, provider: str, model: str, key: str | None = None, virtual_key: str | None = None
    ) -> PriceOverride | None:
        """The most specific override for a call of `model` at provider `provider`.

        An override's `model` may be the bare upstream name or `provider/model`; the
        latter counts as naming the provider.
        """
        best: PriceOverride | None = None
        best_rank = (False, False, False)
        for name, implied_provider in ((model, False), (f"{provider}/{model}", True)):
            for override in self._by_model.get(name, ()):
                if not _applies(override, provider, key, virtual_key):
                    continue
                rank = specificity(override)
                if implied_provider:
                    rank = (rank[0], rank[1], True)
                if best is None or rank > best_rank:
                    best, best_rank = override, rank
                break  # candidates are sorted: the first that applies is this name's best
        return best


def _applies(
    override: PriceOverride, provider: str, key: str | None, virtual_key: str | None
) -> bool:
    return (
        (override.provider is None or override.provider == provider)
        and (override.key is None or override.key == key)
        and (override.virtual_key is None or override.virtual_key == virtual_key)
    )
