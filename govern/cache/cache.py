"""`Cache`: the two layers over one backend, as the request path uses them.

    lookup = await cache.lookup(request, extras, policy, scope)   # before any upstream call
    if lookup.hit: answer from lookup.hit (cost 0, saved = lookup.hit.saved_nanos)
    ... call upstream ...
    await cache.store(lookup, completion, usage, cost_nanos)      # only after success

A cache failure (backend down, embedder broken) is logged and treated as a miss: it
never fails the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from govern.cache.backend import (
    BackendStats,
    CacheBackend,
    CachedResponse,
    CacheEntry,
    CountsByScope,
    Vector,
    decode_response,
    encode_response,
)
from govern.cache.counters import NO_ENTRIES, CacheStats, Counts, stats_of
from govern.cache.embedder import Embedder
from govern.cache.guard import compatible
from govern.cache.keys import RequestKeys, request_keys
from govern.cache.policy import CachePolicy
from govern.config import CacheConfig
from govern.errors import ConfigError
from govern.usage import Usage
from govern.wire.openai import ChatCompletion, ChatCompletionRequest

log = logging.getLogger("govern.cache")

CacheResult = Literal["miss", "exact", "semantic"]


@dataclass(frozen=True, slots=True)
class CacheHit:
    """A stored answer that serves this request."""

    layer: Literal["exact", "semantic"]
    similarity: float
    """1.0 for an exact hit; the cosine similarity for a semantic one."""
    completion: ChatCompletion
    usage: Usage
    """The usage of the call that produced it (what this request would have used)."""
    saved_nanos: int | None
    """What that call cost, so what this hit saved; None if the model was unpriced."""
    stored_at: float


@dataclass(slots=True)
class CacheLookup:
    """The cache's answer for one request, and what `store` needs afterwards."""

    policy: CachePolicy
    scope: str
    model: str
    keys: RequestKeys | None = None
    """None when the cache is off for this request."""
    vector: Vector | None = None
    hit: CacheHit | None = None
    semantic_skip: str | None = None
    """Why the semantic layer was not consulted (mode `exact`, tool calls, ...)."""

    @property
    def result(self) -> CacheResult:
        """`miss`, `exact` or `semantic`, as logged and sent in `x-govern-cache`."""
        return self.hit.layer if self.hit is not None else "miss"

    @property
    def enabled(self) -> bool:
        """Whether the cache was consulted (False: off for this request)."""
        return self.keys is not None

    def headers(self) -> dict[str, str]:
        """`x-govern-cache` (`miss` also when the cache is off for this request), and
        `x-govern-cache-similarity` for a semantic hit."""
        headers: dict[str, str] = {"x-govern-cache": self.result}
        if self.hit is not None and self.hit.layer == "semantic":
            headers["x-govern-cache-similarity"] = f"{self.hit.similarity:.4f}"
        return headers


class Cache:
    """The exact and semantic layers over one backend."""

    def __init__(
        self,
        config: CacheConfig,
        backend: CacheBackend,
        *,
        embedder: Embedder | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.backend = backend
        self.embedder = embedder or Embedder(config.embedding_model)
        self.clock = clock
        self._semantic_unavailable: str | None = None
        self._purger: asyncio.Task[None] | None = None
        self._counts: dict[str, Counts] = {}
        """Counters by scope (bounded by the number of keys, teams and customers)."""

    async def start(self) -> None:
        """Open the backend, purge what expired, start background purges; with
        `mode = "semantic"` also load the model (ConfigError if the extra is missing)."""
        await self.backend.start()
        await self.backend.purge(self.clock())
        if self.config.mode == "semantic":
            await self.warm()
        if self._purger is None:
            self._purger = asyncio.create_task(self._purge_forever())

    async def warm(self) -> None:
        """Load the embedding model now rather than on the first semantic lookup."""
        await self.embedder.load()

    async def lookup(
        self,
        request: ChatCompletionRequest,
        extras: dict[str, msgspec.Raw] | None,
        policy: CachePolicy,
        scope: str,
    ) -> CacheLookup:
        """Find a stored answer: the exact layer, then (mode `semantic`) the nearest
        earlier question of the same scope, model, parameters and context."""
        found = CacheLookup(policy=policy, scope=scope, model=request.model)
        if not policy.enabled:
            return found
        keys = request_keys(
            request,
            extras,
            max_turns=policy.max_turns,
            embedding_model=self.config.embedding_model,
        )
        found.keys = keys
        counts = self._scope(scope)
        now = self.clock()
        try:
            entry = await self.backend.get(scope, keys.request_hash, now)
            if entry is not None:
                found.hit = self._hit(entry, "exact", 1.0)
            elif policy.mode == "semantic":
                await self._semantic(found, policy, now)
            else:
                found.semantic_skip = "mode is exact"
        except Exception as exc:
            counts.errors += 1
            log.warning("cache lookup failed (treated as a miss): %r", exc)
            found.hit = None
        hit = found.hit
        if hit is None:
            counts.miss += 1
        elif hit.layer == "exact":
            counts.exact += 1
        else:
            counts.semantic += 1
        if hit is not None and hit.saved_nanos is not None:
            counts.saved += hit.saved_nanos
        return found

    def _scope(self, scope: str) -> Counts:
        counts = self._counts.get(scope)
        if counts is None:
            counts = self._counts[scope] = Counts()
        return counts

    async def _semantic(self, found: CacheLookup, policy: CachePolicy, now: float) -> None:
        keys = found.keys
        assert keys is not None
        if keys.query is None or keys.context_hash is None:
            found.semantic_skip = keys.semantic_skip
            return
        if self._semantic_unavailable is not None:
            found.semantic_skip = self._semantic_unavailable
            return
        try:
            vector = await self.embedder.embed(keys.query)
        except ConfigError as exc:
            self._semantic_unavailable = exc.message
            log.warning("semantic cache unavailable, using exact only: %s", exc.message)
            found.semantic_skip = exc.message
            return
        if vector is None:
            found.semantic_skip = "the last turn is longer than the embedding model reads"
            return
        found.vector = vector
        candidates = await self.backend.nearest(
            found.scope, keys.context_hash, vector, policy.threshold, now
        )
        for entry, similarity in candidates:
            if entry.query is not None and compatible(keys.query, entry.query):
                found.hit = self._hit(entry, "semantic", similarity)
                return
        if candidates:
            found.semantic_skip = "similar questions differ in numbers, negation or word order"

    def _hit(self, entry: CacheEntry, layer: Literal["exact", "semantic"], sim: float) -> CacheHit:
        stored = decode_response(entry.response)
        return CacheHit(
            layer=layer,
            similarity=sim,
            completion=stored.completion,
            usage=stored.usage,
            saved_nanos=stored.cost_nanos,
            stored_at=entry.created,
        )

    async def store(
        self,
        lookup: CacheLookup,
        completion: ChatCompletion,
        usage: Usage,
        cost_nanos: int | None,
    ) -> bool:
        """Store a complete, successful answer for the request `lookup` was made for;
        False (nothing stored) when the cache is off, `no-store` was asked, the answer
        came from the cache, or a choice has no finish reason."""
        keys = lookup.keys
        if keys is None or lookup.hit is not None or lookup.policy.no_store:
            return False
        if not completion.choices or any(c.finish_reason is None for c in completion.choices):
            return False
        if completion.usage is not None and completion.usage.cost_usd is not None:
            completion = msgspec.structs.replace(
                completion, usage=msgspec.structs.replace(completion.usage, cost_usd=None)
            )
        now = self.clock()
        entry = CacheEntry(
            scope=lookup.scope,
            request_hash=keys.request_hash,
            context_hash=keys.context_hash if lookup.vector is not None else None,
            model=lookup.model,
            vector=lookup.vector,
            query=keys.query if lookup.vector is not None else None,
            response=encode_response(
                CachedResponse(completion=completion, usage=usage, cost_nanos=cost_nanos)
            ),
            created=now,
            expires=now + lookup.policy.ttl_seconds,
        )
        try:
            await self.backend.put(entry)
        except Exception as exc:
            self._scope(lookup.scope).errors += 1
            log.warning("cache store failed: %r", exc)
            return False
        self._scope(lookup.scope).stores += 1
        return True

    async def clear(self, scope: str | None = None) -> int:
        """Delete the entries of one scope (`key:<id>`, `team:<id>`, ...), or all."""
        return await self.backend.clear(scope)

    async def stats(self, scope: str | None = None) -> CacheStats:
        """Live entries and the counters since start, of one scope or of all."""
        live: BackendStats = await self.backend.stats(self.clock(), scope)
        if scope is None:
            counts = Counts()
            for each in self._counts.values():
                counts.add(each)
        else:
            counts = self._counts.get(scope) or Counts()
        return stats_of(live, counts)

    async def scope_stats(self, scopes: Iterable[str]) -> dict[str, CacheStats]:
        """The stats of each of `scopes` that holds entries or was used since start."""
        wanted = list(dict.fromkeys(scopes))
        now = self.clock()
        if isinstance(self.backend, CountsByScope):
            live = await self.backend.stats_by_scope(now)
        else:
            found = await asyncio.gather(*(self.backend.stats(now, s) for s in wanted))
            live = dict(zip(wanted, found, strict=True))
        out: dict[str, CacheStats] = {}
        for scope in wanted:
            stats = stats_of(live.get(scope, NO_ENTRIES), self._counts.get(scope) or Counts())
            if stats.used:
                out[scope] = stats
        return out

    async def _purge_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.purge_interval_seconds)
            try:
                await self.backend.purge(self.clock())
            except Exception as exc:
                log.warning("cache purge failed: %r", exc)

    async def aclose(self) -> None:
        """Stop purging, finish the backend's writes, stop the embedder's thread."""
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        await self.backend.aclose()
        self.embedder.close()


def open_cache(
    config: CacheConfig,
    data_dir: str | Path | None,
    *,
    clock: Callable[[], float] = time.time,
    embedder: Embedder | None = None,
) -> Cache:
    """A Cache on the configured backend (`cache.db` under `data_dir` for the embedded
    one; `data_dir` None keeps it in memory). Call `await cache.start()` before use."""
    backend: CacheBackend
    if config.backend == "weaviate":
        from govern.cache.weaviate import WeaviateBackend

        backend = WeaviateBackend.from_config(config)
    else:
        from govern.cache.embedded import EmbeddedBackend

        path = Path(data_dir) / "cache.db" if data_dir is not None else None
        backend = EmbeddedBackend(path, max_entries=config.max_entries)
    return Cache(config, backend, embedder=embedder, clock=clock)
