"""`CacheUsageSource`: the cache's per-partition statistics for `GET /api/usage`.

Governance asks for its entities (`key:<id>`, `team:<id>`, `customer:<id>`, and
provider configs, which have no partition); the partition of an entity bears its name
(see `govern.cache.policy.scope_id`). The gateway plugs it in:

    gateway.governance.cache_usage = CacheUsageSource(gateway.cache)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from govern.cache.cache import Cache
from govern.cache.counters import CacheStats

log = logging.getLogger("govern.cache")

PARTITION_TIERS = ("key", "team", "customer")
"""Entity kinds that have a cache partition of their own."""


class CacheUsageSource:
    """Reads a `Cache`'s statistics per entity (a `govern.governance.meters.CacheSource`)."""

    def __init__(self, cache: Cache):
        self.cache = cache

    async def cache_usage(self, entities: Sequence[str]) -> Mapping[str, CacheStats]:
        """The stats of each entity's partition that holds entries or was used since
        start; none (and a warning) if the backend cannot be read: usage still answers."""
        scopes = [e for e in entities if e.partition(":")[0] in PARTITION_TIERS]
        if not scopes:
            return {}
        try:
            return await self.cache.scope_stats(scopes)
        except Exception as exc:
            log.warning("cache statistics unavailable for /api/usage: %r", exc)
            return {}
