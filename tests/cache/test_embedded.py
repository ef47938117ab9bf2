"""The embedded backend's own behaviour: its size bound and its index bookkeeping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from govern.cache import embedded
from govern.cache.embedded import EmbeddedBackend
from govern.cache.index import VectorPartition
from tests.cache.entries import T0, entry, unit

NOW = T0 + 10


async def test_beyond_max_entries_the_oldest_go_first(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "cache.db", max_entries=3)
    await backend.start()
    for i in range(4):
        await backend.put(entry(f"r{i}", created=T0 + i))
    assert await backend.get("key:a", "r0", NOW) is None
    assert [await backend.get("key:a", f"r{i}", NOW) is not None for i in (1, 2, 3)] == [True] * 3
    await backend.aclose()


async def test_beyond_max_entries_expired_entries_go_before_old_live_ones(
    tmp_path: Path,
) -> None:
    backend = EmbeddedBackend(tmp_path / "cache.db", max_entries=3)
    await backend.start()
    await backend.put(entry("old-live", created=T0, ttl=3600))
    await backend.put(entry("expired", created=T0 + 1, ttl=5))
    await backend.put(entry("r2", created=T0 + 2))
    await backend.put(entry("r3", created=T0 + 10))
    assert await backend.get("key:a", "old-live", NOW) is not None
    assert (await backend.stats(T0)).entries == 3
    await backend.aclose()


async def test_the_bound_holds_after_a_restart_with_a_smaller_bound(tmp_path: Path) -> None:
    first = EmbeddedBackend(tmp_path / "cache.db", max_entries=10)
    await first.start()
    for i in range(5):
        await first.put(entry(f"r{i}", created=T0 + i))
    await first.aclose()
    second = EmbeddedBackend(tmp_path / "cache.db", max_entries=2)
    await second.start()
    assert [await second.get("key:a", f"r{i}", NOW) is not None for i in range(5)] == [
        False,
        False,
        False,
        True,
        True,
    ]
    await second.aclose()


async def test_evicted_entries_stay_gone_after_a_restart(tmp_path: Path) -> None:
    first = EmbeddedBackend(tmp_path / "cache.db", max_entries=1)
    await first.start()
    await first.put(entry("r0", created=T0))
    await first.put(entry("r1", created=T0 + 1))
    await first.aclose()
    second = EmbeddedBackend(tmp_path / "cache.db", max_entries=100)
    await second.start()
    assert await second.get("key:a", "r0", NOW) is None
    await second.aclose()


async def test_removing_entries_keeps_the_index_consistent(tmp_path: Path) -> None:
    backend = EmbeddedBackend(None, max_entries=1000)
    vectors = {f"r{i}": unit(i) for i in range(40)}
    for key, v in vectors.items():
        await backend.put(entry(key, vector=v))
    for i in range(0, 40, 3):
        await backend.put(entry(f"r{i}", vector=None))  # replaced by a vectorless entry
    for key, v in vectors.items():
        found = await backend.nearest("key:a", "c1", v, 0.99, NOW)
        removed = int(key[1:]) % 3 == 0
        assert [e.request_hash for e, _ in found] == ([] if removed else [key])


def test_a_partition_grows_past_its_capacity() -> None:
    partition = VectorPartition(4, capacity=2)
    for i in range(5):
        v = np.zeros(4, np.float32)
        v[i % 4] = 1.0
        partition.add(("s", f"r{i}"), v, expires=100.0)
    q = np.array([0, 0, 1, 0], np.float32)
    assert partition.nearest(q, 0.0, 0.5, 3) == [(2, 1.0)]
    assert partition.size == 5


async def test_a_large_partition_is_searched_off_the_loop_with_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embedded, "OFFLOAD_ROWS", 8)
    backend = EmbeddedBackend(None)
    for i in range(30):
        await backend.put(entry(f"r{i}", vector=unit(i)))
    for i in (0, 17, 29):
        found = await backend.nearest("key:a", "c1", unit(i), 0.9, NOW)
        assert [(e.request_hash, round(s, 4)) for e, s in found] == [(f"r{i}", 1.0)]
