"""What the cache counts: live entries and hits, misses and savings, per scope."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from govern.cache.backend import BackendStats


class CacheStats(msgspec.Struct, frozen=True, kw_only=True):
    """Live entries and this process's counters since start (of one scope, or all)."""

    entries: int
    """Entries not yet expired."""
    with_vectors: int
    """Of those, entries the semantic layer can find."""
    exact_hits: int
    """Lookups answered by the exact layer."""
    semantic_hits: int
    """Lookups answered by the semantic layer."""
    misses: int
    """Lookups with the cache on that found nothing (requests with it off are not counted)."""
    stores: int
    """Answers stored."""
    saved_nanos: int
    """What the hits would have cost, in nano-dollars (unpriced answers count 0)."""
    errors: int
    """Backend failures, each treated as a miss or a skipped store."""

    @property
    def hits(self) -> int:
        """Lookups answered from the cache, both layers."""
        return self.exact_hits + self.semantic_hits

    @property
    def used(self) -> bool:
        """Whether the scope holds entries or was looked up since start."""
        return bool(self.entries or self.hits or self.misses or self.stores or self.errors)


@dataclass(slots=True)
class Counts:
    """One scope's counters since start."""

    exact: int = 0
    semantic: int = 0
    miss: int = 0
    stores: int = 0
    errors: int = 0
    saved: int = 0

    def add(self, other: Counts) -> None:
        """Add another scope's counters to these."""
        self.exact += other.exact
        self.semantic += other.semantic
        self.miss += other.miss
        self.stores += other.stores
        self.errors += other.errors
        self.saved += other.saved


NO_ENTRIES = BackendStats(entries=0, with_vectors=0)


def stats_of(live: BackendStats, counts: Counts) -> CacheStats:
    """Live entries and counters as one `CacheStats`."""
    return CacheStats(
        entries=live.entries,
        with_vectors=live.with_vectors,
        exact_hits=counts.exact,
        semantic_hits=counts.semantic,
        misses=counts.miss,
        stores=counts.stores,
        saved_nanos=counts.saved,
        errors=counts.errors,
    )
