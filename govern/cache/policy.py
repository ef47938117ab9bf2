"""Who caches what: per-request headers, per-tier settings, and the scope of an entry."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from govern.config import CacheConfig, CacheMode, CacheScope, CacheSettings
from govern.errors import InvalidRequest

MODE_HEADER = "x-govern-cache"
TTL_HEADER = "x-govern-cache-ttl"
THRESHOLD_HEADER = "x-govern-cache-threshold"
NO_STORE_HEADER = "x-govern-cache-no-store"

MAX_TTL_SECONDS = 366 * 86_400
"""A per-request TTL above a year is refused as a probable unit mistake."""

_MODES: dict[str, CacheMode] = {"off": "off", "exact": "exact", "semantic": "semantic"}
_TRUE = ("", "1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class RequestCacheOptions:
    """What a request's `x-govern-cache*` headers ask for; None means not said."""

    mode: CacheMode | None = None
    ttl_seconds: int | None = None
    threshold: float | None = None
    no_store: bool = False


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """The cache behaviour that applies to one request, all tiers and headers resolved."""

    mode: CacheMode
    ttl_seconds: int
    threshold: float
    scope: CacheScope
    max_turns: int
    no_store: bool = False

    @property
    def enabled(self) -> bool:
        """Whether the cache is consulted at all."""
        return self.mode != "off"


def parse_cache_headers(headers: Mapping[str, str]) -> RequestCacheOptions:
    """Read the `x-govern-cache*` headers (lower-case names, or a case-insensitive
    mapping); an invalid value is an InvalidRequest naming the header."""
    mode = headers.get(MODE_HEADER)
    ttl = headers.get(TTL_HEADER)
    threshold = headers.get(THRESHOLD_HEADER)
    no_store = headers.get(NO_STORE_HEADER)
    if mode is None and ttl is None and threshold is None and no_store is None:
        return _NO_OPTIONS
    return RequestCacheOptions(
        mode=_mode(mode) if mode is not None else None,
        ttl_seconds=_ttl(ttl) if ttl is not None else None,
        threshold=_threshold(threshold) if threshold is not None else None,
        no_store=_flag(no_store) if no_store is not None else False,
    )


_NO_OPTIONS = RequestCacheOptions()


def _invalid(header: str, value: str, expected: str) -> InvalidRequest:
    return InvalidRequest(
        f"header `{header}`: expected {expected}, got {value!r}",
        code="invalid_header",
        param=header,
    )


def _mode(value: str) -> CacheMode:
    mode = _MODES.get(value.strip().lower())
    if mode is None:
        raise _invalid(MODE_HEADER, value, "`exact`, `semantic` or `off`")
    return mode


def _ttl(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_TTL_SECONDS:
        raise _invalid(TTL_HEADER, value, f"whole seconds between 1 and {MAX_TTL_SECONDS}")
    return int(text)


def _threshold(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise _invalid(THRESHOLD_HEADER, value, "a number between 0 and 1") from None
    if not math.isfinite(number) or not 0 <= number <= 1:
        raise _invalid(THRESHOLD_HEADER, value, "a number between 0 and 1")
    return number


def _flag(value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid(NO_STORE_HEADER, value, "`true` or `false` (or no value)")


def resolve_policy(
    config: CacheConfig,
    *,
    customer: CacheSettings | None = None,
    team: CacheSettings | None = None,
    key: CacheSettings | None = None,
    request: RequestCacheOptions | None = None,
) -> CachePolicy:
    """The policy for one request: the `cache` section, overridden by the customer's,
    then the team's, then the key's settings, then the request's headers (which may
    choose mode, TTL and threshold, but never the scope)."""
    mode: CacheMode = config.mode
    ttl = config.ttl_seconds
    threshold = config.threshold
    scope: CacheScope = config.scope
    for tier in (customer, team, key):
        if tier is None:
            continue
        mode = tier.mode if tier.mode is not None else mode
        ttl = tier.ttl_seconds if tier.ttl_seconds is not None else ttl
        threshold = tier.threshold if tier.threshold is not None else threshold
        scope = tier.scope if tier.scope is not None else scope
    no_store = False
    if request is not None:
        mode = request.mode if request.mode is not None else mode
        ttl = request.ttl_seconds if request.ttl_seconds is not None else ttl
        threshold = request.threshold if request.threshold is not None else threshold
        no_store = request.no_store
    return CachePolicy(
        mode=mode,
        ttl_seconds=ttl,
        threshold=threshold,
        scope=scope,
        max_turns=config.max_turns,
        no_store=no_store,
    )


def scope_id(
    scope: CacheScope,
    *,
    key_id: str | None,
    team_id: str | None = None,
    customer_id: str | None = None,
) -> str:
    """The partition a request's entries live in. A wider scope the caller does not
    belong to (no team, no customer) narrows to the key; no key (an ungoverned
    gateway) is one anonymous partition."""
    if scope == "global":
        return "global"
    if scope == "customer" and customer_id is not None:
        return f"customer:{customer_id}"
    if scope in ("customer", "team") and team_id is not None:
        return f"team:{team_id}"
    if key_id is not None:
        return f"key:{key_id}"
    return "anonymous"
