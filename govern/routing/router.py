"""Resolve `provider/model` (or a bare model name) to a provider, and pick its key."""

from __future__ import annotations

import random
from dataclasses import dataclass

from govern.config import GovernConfig, ProviderKey
from govern.errors import ModelNotFound

ANONYMOUS = ProviderKey(name="anonymous")
"""The key of providers that need none (`sim`, a local Ollama)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a model name leads: a provider and the model id the upstream knows."""

    provider: str
    model: str

    @property
    def qualified(self) -> str:
        """`provider/model`."""
        return f"{self.provider}/{self.model}"


class Router:
    """Model names to routes, and weighted key choice; built once from the config."""

    def __init__(self, config: GovernConfig, rng: random.Random | None = None):
        self._config = config
        self._rng = rng or random.Random()
        self._bare: dict[str, str] = {}
        for name in config.providers:
            for model in self.offered_models(name):
                self._bare.setdefault(model, name)
        self._keys_cache: dict[tuple[str, str], tuple[list[ProviderKey], list[float]]] = {}

    def offered_models(self, provider: str) -> list[str]:
        """Models a provider lists (its own `models`, then its keys'), without duplicates."""
        config = self._config.providers[provider]
        seen = dict.fromkeys(config.models)
        for key in config.keys:
            seen.update(dict.fromkeys(key.models))
        return list(seen)

    def all_models(self) -> list[str]:
        """Every `provider/model` the config lists."""
        return [f"{p}/{m}" for p in self._config.providers for m in self.offered_models(p)]

    def resolve(self, name: str) -> Route:
        """The route for a model name; raises ModelNotFound naming what exists."""
        prefix, sep, rest = name.partition("/")
        if sep and prefix in self._config.providers:
            if not rest:
                raise ModelNotFound(
                    f"model {name!r} names provider {prefix!r} but no model", param="model"
                )
            return Route(prefix, rest)
        provider = self._bare.get(name)
        if provider is not None:
            return Route(provider, name)
        known = ", ".join(self.all_models()) or "none"
        providers = ", ".join(self._config.providers) or "none"
        raise ModelNotFound(
            f"model {name!r} does not exist: use `provider/model` with a configured provider "
            f"({providers}) or one of the listed models ({known})",
            code="model_not_found",
            param="model",
        )

    def keys_for(self, route: Route) -> tuple[list[ProviderKey], list[float]]:
        """The keys that serve a route and their weights."""
        cache_key = (route.provider, route.model)
        found = self._keys_cache.get(cache_key)
        if found is None:
            config = self._config.providers[route.provider]
            keys = [
                k for k in config.keys if k.weight > 0 and (not k.models or route.model in k.models)
            ]
            if not config.keys:
                keys = [ANONYMOUS]
            found = (keys, [k.weight for k in keys])
            self._keys_cache[cache_key] = found
        return found

    def pick_key(
        self,
        route: Route,
        avoid: ProviderKey | None = None,
        only: tuple[str, ...] | None = None,
    ) -> ProviderKey:
        """A key for the route, chosen by weight; another than `avoid` when there is one;
        among the key names in `only` when given (a virtual key's provider config)."""
        keys, weights = self.keys_for(route)
        if only is not None:
            pairs = [(k, w) for k, w in zip(keys, weights, strict=True) if k.name in only]
            keys, weights = [k for k, _ in pairs], [w for _, w in pairs]
        if not keys:
            which = f" among {', '.join(only)}" if only is not None else ""
            raise ModelNotFound(
                f"no key of provider {route.provider!r}{which} serves model {route.model!r}",
                code="model_not_found",
                param="model",
            )
        if len(keys) == 1:
            return keys[0]
        if avoid is not None and avoid in keys:
            pairs = [(k, w) for k, w in zip(keys, weights, strict=True) if k is not avoid]
            keys, weights = [k for k, _ in pairs], [w for _, w in pairs]
        return self._rng.choices(keys, weights)[0]
