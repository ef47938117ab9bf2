"""The embedded backend: entries in memory, vectors in a numpy index, persisted to SQLite.

Reads and index updates happen on the caller's thread (they are dictionary lookups and
one matrix-vector product); writes to `cache.db` go to one worker thread in order, so a
store never waits for the disk. One process owns the file: replicas share a cache
through the Weaviate backend instead.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from govern.cache.backend import BackendStats, CacheEntry, Vector
from govern.cache.index import VectorPartition, scan

log = logging.getLogger("govern.cache")

OFFLOAD_ROWS = 20_000
"""Partitions at least this large are searched in a worker thread (docs/cache.md)."""

_Key = tuple[str, str]
"""(scope, request hash)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache_entries (
    scope TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    context_hash TEXT,
    model TEXT NOT NULL,
    vector BLOB,
    query TEXT,
    response BLOB NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (scope, request_hash)
);
CREATE INDEX IF NOT EXISTS cache_entries_expires ON cache_entries (expires);
"""
_COLUMNS = "scope, request_hash, context_hash, model, vector, query, response, created, expires"


class EmbeddedBackend:
    """In-process entries with an exact cosine index; `path` None keeps them in memory only."""

    def __init__(self, path: str | Path | None, *, max_entries: int = 10_000):
        self.path = Path(path) if path is not None else None
        self.max_entries = max_entries
        self._entries: dict[_Key, CacheEntry] = {}  # insertion order is age order
        self._rows: dict[_Key, tuple[_Key, int]] = {}  # -> (partition, position)
        self._partitions: dict[_Key, VectorPartition] = {}
        self._db: sqlite3.Connection | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._writes: set[Future[None]] = set()

    async def start(self) -> None:
        """Open `cache.db` and load its live entries."""
        if self.path is None or self._writer is not None:
            return
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govern-cache-db")
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(self._writer, self._open)
        for row in rows:
            self._insert(_entry(row))
        self._evict(float("-inf"))

    def _open(self) -> list[tuple[Any, ...]]:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db = db
        return db.execute(f"SELECT {_COLUMNS} FROM cache_entries ORDER BY created").fetchall()

    async def get(self, scope: str, request_hash: str, now: float) -> CacheEntry | None:
        """The live entry under this scope and request hash."""
        entry = self._entries.get((scope, request_hash))
        if entry is None or entry.expires <= now:
            return None
        return entry

    async def nearest(
        self,
        scope: str,
        context_hash: str,
        vector: Vector,
        min_similarity: float,
        now: float,
        limit: int = 3,
    ) -> list[tuple[CacheEntry, float]]:
        """The live entries of this scope and context most similar to `vector`."""
        partition = self._partitions.get((scope, context_hash))
        if partition is None or partition.matrix.shape[1] != vector.shape[0]:
            return []
        if partition.size < OFFLOAD_ROWS:
            found = partition.nearest(vector, now, min_similarity, limit)
        else:
            # A large scan takes milliseconds (memory-bound): run it off the event loop
            # (numpy releases the GIL), then re-check the rows found, which may have moved.
            rows = partition.matrix[: partition.size]
            expires = partition.expires[: partition.size].copy()
            found = await asyncio.to_thread(scan, rows, expires, vector, now, min_similarity, limit)
            found = partition.confirm(found, vector, now, min_similarity)
        return [(self._entries[partition.keys[i]], score) for i, score in found]

    async def put(self, entry: CacheEntry) -> None:
        """Store an entry, replacing one with the same key; evict beyond `max_entries`."""
        key = (entry.scope, entry.request_hash)
        self._remove(key)
        self._insert(entry)
        self._write(_put, _row(entry))
        if len(self._entries) > self.max_entries:
            self._evict(entry.created)

    def _insert(self, entry: CacheEntry) -> None:
        key = (entry.scope, entry.request_hash)
        self._entries[key] = entry
        if entry.vector is None or entry.context_hash is None:
            return
        pkey = (entry.scope, entry.context_hash)
        partition = self._partitions.get(pkey)
        if partition is None:
            partition = self._partitions[pkey] = VectorPartition(entry.vector.shape[0])
        elif partition.matrix.shape[1] != entry.vector.shape[0]:
            return
        self._rows[key] = (pkey, partition.add(key, entry.vector, entry.expires))

    def _remove(self, key: _Key) -> CacheEntry | None:
        entry = self._entries.pop(key, None)
        row = self._rows.pop(key, None)
        if row is not None:
            pkey, position = row
            partition = self._partitions[pkey]
            moved = partition.remove(position)
            if moved is not None:
                self._rows[moved] = (pkey, position)
            if partition.size == 0:
                del self._partitions[pkey]
        return entry

    def _evict(self, now: float) -> int:
        """Drop expired entries, then the oldest, down to 1% under the bound (so that a
        full cache does not scan on every store)."""
        removed = [k for k, e in self._entries.items() if e.expires <= now]
        for key in removed:
            self._remove(key)
        if len(self._entries) > self.max_entries:
            target = self.max_entries - self.max_entries // 100
            oldest = list(self._entries)[: len(self._entries) - target]
            for key in oldest:
                self._remove(key)
            removed += oldest
        if removed:
            self._write(_delete, removed)
        return len(removed)

    async def clear(self, scope: str | None = None) -> int:
        """Delete every entry of one scope, or all."""
        keys = [k for k in self._entries if scope is None or k[0] == scope]
        for key in keys:
            self._remove(key)
        self._write(_clear, scope)
        return len(keys)

    async def purge(self, now: float) -> int:
        """Delete expired entries."""
        return self._evict(now)

    async def stats(self, now: float, scope: str | None = None) -> BackendStats:
        """Counts of live entries."""
        live = [
            e
            for k, e in self._entries.items()
            if e.expires > now and (scope is None or k[0] == scope)
        ]
        return BackendStats(entries=len(live), with_vectors=sum(e.vector is not None for e in live))

    async def stats_by_scope(self, now: float) -> dict[str, BackendStats]:
        """Counts of live entries, by scope, in one pass."""
        counts: dict[str, list[int]] = {}
        for (scope, _), e in self._entries.items():
            if e.expires > now:
                count = counts.setdefault(scope, [0, 0])
                count[0] += 1
                count[1] += e.vector is not None
        return {s: BackendStats(entries=n, with_vectors=v) for s, (n, v) in counts.items()}

    def _write(self, op: Callable[[sqlite3.Connection, Any], None], arg: Any) -> None:
        if self._writer is None:
            return
        future = self._writer.submit(self._apply, op, arg)
        self._writes.add(future)
        future.add_done_callback(self._written)

    def _apply(self, op: Callable[[sqlite3.Connection, Any], None], arg: Any) -> None:
        assert self._db is not None
        op(self._db, arg)

    def _written(self, future: Future[None]) -> None:
        self._writes.discard(future)
        exc = future.exception()
        if exc is not None:
            log.warning("cache: writing %s failed: %s", self.path, exc)

    async def flush(self) -> None:
        """Wait until every write so far is on disk."""
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, lambda: None)

    async def aclose(self) -> None:
        """Finish pending writes and close the file."""
        if self._writer is None:
            return
        await self.flush()
        writer, self._writer = self._writer, None
        if self._db is not None:
            self._db.close()
            self._db = None
        writer.shutdown(wait=True)


def _row(entry: CacheEntry) -> tuple[Any, ...]:
    vector = entry.vector.astype(np.float32).tobytes() if entry.vector is not None else None
    return (
        entry.scope,
        entry.request_hash,
        entry.context_hash,
        entry.model,
        vector,
        entry.query,
        entry.response,
        entry.created,
        entry.expires,
    )


def _entry(row: tuple[Any, ...]) -> CacheEntry:
    scope, request_hash, context_hash, model, vector, query, response, created, expires = row
    return CacheEntry(
        scope=scope,
        request_hash=request_hash,
        context_hash=context_hash,
        model=model,
        vector=np.frombuffer(vector, dtype=np.float32).copy() if vector is not None else None,
        query=query,
        response=bytes(response),
        created=created,
        expires=expires,
    )


def _put(db: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    db.execute(f"INSERT OR REPLACE INTO cache_entries ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row)


def _delete(db: sqlite3.Connection, keys: list[_Key]) -> None:
    db.execute("BEGIN")
    db.executemany("DELETE FROM cache_entries WHERE scope = ? AND request_hash = ?", keys)
    db.execute("COMMIT")


def _clear(db: sqlite3.Connection, scope: str | None) -> None:
    if scope is None:
        db.execute("DELETE FROM cache_entries")
    else:
        db.execute("DELETE FROM cache_entries WHERE scope = ?", (scope,))
