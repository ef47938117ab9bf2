"""Statistics per scope: each partition's entries and counters, and the adapter that
shows them in `GET /api/usage`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from govern.cache import Cache, CacheUsageSource, resolve_policy
from govern.cache.backend import BackendStats, CacheBackend, CacheEntry, Vector
from govern.cache.embedded import EmbeddedBackend
from govern.config import CacheConfig
from govern.usage import Usage
from govern.wire.decode import decode_chat_request
from tests.cache.conftest import Clock
from tests.cache.entries import completion

EXACT = resolve_policy(CacheConfig(mode="exact"))
USAGE = Usage(input_tokens=12, output_tokens=1)


class ProtocolOnly:
    """An embedded backend seen through the `CacheBackend` protocol alone (as the
    Weaviate backend is): no one-pass count of every scope."""

    def __init__(self, inner: EmbeddedBackend):
        self.inner = inner

    async def start(self) -> None:
        await self.inner.start()

    async def get(self, scope: str, request_hash: str, now: float) -> CacheEntry | None:
        return await self.inner.get(scope, request_hash, now)

    async def nearest(
        self,
        scope: str,
        context_hash: str,
        vector: Vector,
        min_similarity: float,
        now: float,
        limit: int = 3,
    ) -> list[tuple[CacheEntry, float]]:
        return await self.inner.nearest(scope, context_hash, vector, min_similarity, now, limit)

    async def put(self, entry: CacheEntry) -> None:
        await self.inner.put(entry)

    async def clear(self, scope: str | None = None) -> int:
        return await self.inner.clear(scope)

    async def purge(self, now: float) -> int:
        return await self.inner.purge(now)

    async def stats(self, now: float, scope: str | None = None) -> BackendStats:
        return await self.inner.stats(now, scope)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(params=["one-pass", "per-scope"])
async def cache(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Cache]:
    """A cache in memory, on a backend that counts all scopes at once or one by one."""
    embedded = EmbeddedBackend(None)
    backend: CacheBackend = embedded if request.param == "one-pass" else ProtocolOnly(embedded)
    made = Cache(CacheConfig(mode="exact"), backend, clock=clock)
    await made.start()
    yield made
    await made.aclose()


async def ask(cache: Cache, scope: str, question: str = "What is 2+2?", **fields: Any) -> str:
    """Look a question up in `scope`, store an answer on a miss; returns the result."""
    body = {"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    request, extras = decode_chat_request(msgspec.json.encode({**body, **fields}))
    found = await cache.lookup(request, extras, EXACT, scope)
    if found.hit is None:
        await cache.store(found, completion(), USAGE, cost_nanos=7_200)
    return found.result


async def test_stats_of_a_scope_count_only_that_scope(cache: Cache) -> None:
    for _ in range(3):
        await ask(cache, "key:a")
    await ask(cache, "key:b")
    a, b = await cache.stats("key:a"), await cache.stats("key:b")
    assert (a.entries, a.exact_hits, a.misses, a.stores, a.saved_nanos) == (1, 2, 1, 1, 14_400)
    assert (b.entries, b.exact_hits, b.misses, b.stores, b.saved_nanos) == (1, 0, 1, 1, 0)
    every = await cache.stats()
    assert (every.entries, every.exact_hits, every.misses, every.saved_nanos) == (2, 2, 2, 14_400)


async def test_scope_stats_leave_out_unused_scopes(cache: Cache) -> None:
    await ask(cache, "key:a")
    await ask(cache, "key:a")
    found = await cache.scope_stats(["key:a", "key:never", "team:eng"])
    assert list(found) == ["key:a"]
    assert (found["key:a"].hits, found["key:a"].misses) == (1, 1)


async def test_a_scope_with_entries_from_before_a_restart_is_used(tmp_path: Path) -> None:
    first = Cache(CacheConfig(mode="exact"), EmbeddedBackend(tmp_path / "cache.db"))
    await first.start()
    await ask(first, "team:eng")
    await first.aclose()
    second = Cache(CacheConfig(mode="exact"), EmbeddedBackend(tmp_path / "cache.db"))
    await second.start()
    try:
        found = await second.scope_stats(["team:eng"])
        assert (found["team:eng"].entries, found["team:eng"].misses) == (1, 0)
    finally:
        await second.aclose()


async def test_expired_entries_are_not_counted(cache: Cache, clock: Clock) -> None:
    await ask(cache, "key:a")
    clock.advance(EXACT.ttl_seconds + 1)
    assert (await cache.stats("key:a")).entries == 0
    assert (await cache.scope_stats(["key:a"]))["key:a"].entries == 0  # still looked up once


async def test_the_adapter_answers_for_keys_teams_and_customers_only(cache: Cache) -> None:
    await ask(cache, "key:nb")
    await ask(cache, "customer:acme")
    source = CacheUsageSource(cache)
    found = await source.cache_usage(
        ["customer:acme", "team:eng", "key:nb", "provider:nb:bedrock", "global"]
    )
    assert sorted(found) == ["customer:acme", "key:nb"]
    assert found["key:nb"].entries == 1


class Unreachable(ProtocolOnly):
    """A backend whose server has gone away: counting fails."""

    async def stats(self, now: float, scope: str | None = None) -> BackendStats:
        raise ConnectionError("the cache server is unreachable")


async def test_the_adapter_reports_nothing_when_the_backend_fails(clock: Clock) -> None:
    cache = Cache(CacheConfig(mode="exact"), Unreachable(EmbeddedBackend(None)), clock=clock)
    await cache.start()
    try:
        await ask(cache, "key:nb")
        assert await CacheUsageSource(cache).cache_usage(["key:nb"]) == {}
    finally:
        await cache.aclose()
