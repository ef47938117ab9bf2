"""`UsageSource`: what the management API asks the ledger ("usage of these caps now"), and
`CacheSource`: what it asks the response cache ("statistics of these entities' partitions").

The gateway plugs its ledger and its cache in; `Admin` works without either (cap counters
then read null; the `cache` field is left out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from msgspec import Struct

from govern.governance.caps import Cap


class CapUsage(Struct, frozen=True, kw_only=True):
    """One cap's counters in the window containing a moment."""

    spent: int
    """Settled in the window: nano-dollars for `usd`, else a count (`concurrent`: 0)."""
    reserved: int
    """Held by open reservations (`concurrent`: requests in flight)."""
    window_start: float
    """Epoch seconds."""
    reset_at: float | None
    """Epoch seconds when the window resets; None if it never does."""


class UsageSource(Protocol):
    """Reads the counters of caps (the ledger, adapted)."""

    async def usage(self, caps: Sequence[Cap], now: float) -> Mapping[str, CapUsage]:
        """Each cap's counters at `now`, by cap id; a cap left out has counted nothing."""
        ...


class CacheReading(Protocol):
    """One cache partition's statistics (`govern.cache.CacheStats` is one)."""

    @property
    def entries(self) -> int:
        """Live entries."""
        ...

    @property
    def exact_hits(self) -> int:
        """Lookups answered by the exact layer since start."""
        ...

    @property
    def semantic_hits(self) -> int:
        """Lookups answered by the semantic layer since start."""
        ...

    @property
    def misses(self) -> int:
        """Lookups not answered since start (the cache on, nothing found)."""
        ...

    @property
    def saved_nanos(self) -> int:
        """What the hits since start would have cost, in nano-dollars."""
        ...


class CacheSource(Protocol):
    """Reads the response cache's statistics per entity (the cache, adapted)."""

    async def cache_usage(self, entities: Sequence[str]) -> Mapping[str, CacheReading]:
        """The statistics of each entity's partition (`key:<id>`, `team:<id>`, ...), by
        entity; an entity left out has no partition in use."""
        ...
