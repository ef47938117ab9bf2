"""The contract every CacheBackend meets: run on the embedded backend, and on a real
Weaviate server when GOVERN_TEST_WEAVIATE_URL is set (skipped, saying so, otherwise)."""

from __future__ import annotations

import pytest

from govern.cache.backend import decode_response
from tests.cache.conftest import BackendFactory
from tests.cache.entries import T0, entry, near, unit

NOW = T0 + 10


async def test_a_stored_entry_is_found_by_scope_and_request_hash(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1", text="four", cost_nanos=1_500))
    found = await backend.get("key:a", "r1", NOW)
    assert found is not None
    stored = decode_response(found.response)
    assert stored.completion.choices[0].message.content == "four"
    assert stored.cost_nanos == 1_500
    assert (found.model, found.created, found.expires) == ("sim/gpt-4o-mini", T0, T0 + 3600)


async def test_an_unknown_request_hash_is_not_found(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1"))
    assert await backend.get("key:a", "r2", NOW) is None


async def test_put_replaces_the_entry_with_the_same_key(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1", text="old"))
    await backend.put(entry("r1", text="new", created=T0 + 1))
    found = await backend.get("key:a", "r1", NOW)
    assert found is not None
    assert decode_response(found.response).completion.choices[0].message.content == "new"
    assert (await backend.stats(NOW)).entries == 1


async def test_the_same_request_hash_in_two_scopes_never_shares(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1", scope="key:a", text="answer for a"))
    assert await backend.get("key:b", "r1", NOW) is None
    await backend.put(entry("r1", scope="key:b", text="answer for b"))
    a = await backend.get("key:a", "r1", NOW)
    b = await backend.get("key:b", "r1", NOW)
    assert a is not None and b is not None
    assert decode_response(a.response).completion.choices[0].message.content == "answer for a"
    assert decode_response(b.response).completion.choices[0].message.content == "answer for b"


async def test_nearest_never_crosses_scopes(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    v = unit(1)
    await backend.put(entry("r1", scope="key:a", vector=v))
    assert await backend.nearest("key:b", "c1", v, 0.0, NOW) == []


async def test_an_expired_entry_is_never_returned(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    v = unit(1)
    await backend.put(entry("r1", vector=v, ttl=60))
    assert await backend.get("key:a", "r1", T0 + 59) is not None
    assert await backend.get("key:a", "r1", T0 + 60) is None
    assert await backend.nearest("key:a", "c1", v, 0.5, T0 + 60) == []


async def test_nearest_returns_the_most_similar_first(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    q = unit(1)
    await backend.put(entry("far", vector=near(q, 0.80, seed=2), text="far"))
    await backend.put(entry("close", vector=near(q, 0.97, seed=3), text="close"))
    await backend.put(entry("mid", vector=near(q, 0.93, seed=4), text="mid"))
    found = await backend.nearest("key:a", "c1", q, 0.90, NOW)
    assert [e.request_hash for e, _ in found] == ["close", "mid"]
    assert [round(s, 3) for _, s in found] == [0.97, 0.93]
    assert found[0][0].query == "what is 2+2"


async def test_nearest_drops_entries_below_the_minimum_similarity(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    await backend.start()
    q = unit(1)
    await backend.put(entry("r1", vector=near(q, 0.91)))
    assert await backend.nearest("key:a", "c1", q, 0.92, NOW) == []


async def test_nearest_stays_within_the_context_hash(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    q = unit(1)
    await backend.put(entry("r1", context_hash="other-params", vector=q))
    assert await backend.nearest("key:a", "c1", q, 0.0, NOW) == []


async def test_an_entry_without_vector_is_found_by_hash_only(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1", vector=None))
    assert await backend.get("key:a", "r1", NOW) is not None
    assert await backend.nearest("key:a", "c1", unit(1), 0.0, NOW) == []


async def test_clear_one_scope_leaves_the_others(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1", scope="key:a"))
    await backend.put(entry("r2", scope="key:a"))
    await backend.put(entry("r1", scope="key:b"))
    assert await backend.clear("key:a") == 2
    assert await backend.get("key:a", "r1", NOW) is None
    assert await backend.get("key:b", "r1", NOW) is not None


async def test_clear_without_scope_deletes_everything(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1", scope="key:a"))
    await backend.put(entry("r1", scope="team:t"))
    assert await backend.clear() == 2
    assert (await backend.stats(NOW)).entries == 0


async def test_purge_deletes_expired_entries_only(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("short", ttl=60))
    await backend.put(entry("long", ttl=3600))
    assert await backend.purge(T0 + 60) == 1
    assert await backend.get("key:a", "long", T0 + 60) is not None
    assert (await backend.stats(T0)).entries == 1  # the expired one is gone, not just hidden


async def test_stats_count_live_entries_and_vectors(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    await backend.start()
    await backend.put(entry("r1", vector=unit(1)))
    await backend.put(entry("r2", vector=None))
    await backend.put(entry("r3", scope="key:b", vector=unit(2)))
    await backend.put(entry("old", ttl=5))
    everything = await backend.stats(NOW)
    assert (everything.entries, everything.with_vectors) == (3, 2)
    one = await backend.stats(NOW, "key:a")
    assert (one.entries, one.with_vectors) == (2, 1)


async def test_entries_survive_a_restart(backend_factory: BackendFactory) -> None:
    first = backend_factory()
    await first.start()
    v = unit(1)
    await first.put(entry("r1", vector=v, text="kept"))
    await first.aclose()
    second = backend_factory()
    await second.start()
    found = await second.get("key:a", "r1", NOW)
    assert found is not None
    assert decode_response(found.response).completion.choices[0].message.content == "kept"
    (hit, similarity), *_ = await second.nearest("key:a", "c1", v, 0.99, NOW)
    assert hit.request_hash == "r1"
    assert similarity == pytest.approx(1.0, abs=1e-4)
