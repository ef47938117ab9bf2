"""The two layers together, on the embedded backend with the real embedding model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from govern.cache import Cache, CachePolicy, open_cache, parse_cache_headers, resolve_policy
from govern.config import CacheConfig
from govern.usage import Usage
from govern.wire.decode import decode_chat_request
from govern.wire.openai import ChatCompletionRequest
from tests.cache.conftest import Clock
from tests.cache.entries import completion

USAGE = Usage(input_tokens=12, output_tokens=1)
EXACT = resolve_policy(CacheConfig(mode="exact"))
SEMANTIC = resolve_policy(CacheConfig(mode="semantic"))


def ask(question: str, **fields: Any) -> tuple[ChatCompletionRequest, dict[str, msgspec.Raw]]:
    body = {"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    return decode_chat_request(msgspec.json.encode({**body, **fields}))


CacheFactory = Callable[..., Cache]


@pytest.fixture
async def make_cache(tmp_path: Path, clock: Clock) -> AsyncIterator[CacheFactory]:
    """Caches on `cache.db` in one data directory (opening two is a restart)."""
    caches: list[Cache] = []

    def make(**config: Any) -> Cache:
        cache = open_cache(CacheConfig(**config), tmp_path, clock=clock)
        caches.append(cache)
        return cache

    yield make
    for cache in caches:
        await cache.aclose()


async def lookup_and_store(
    cache: Cache, question: str, policy: CachePolicy, scope: str = "key:a", answer: str = "4"
) -> None:
    request, extras = ask(question)
    found = await cache.lookup(request, extras, policy, scope)
    assert found.hit is None
    assert await cache.store(found, completion(answer), USAGE, cost_nanos=7_200)


async def test_an_identical_request_is_an_exact_hit(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "What is 2+2?", EXACT)
    request, extras = ask("What is 2+2?", user="someone-else", stream=True)
    found = await cache.lookup(request, extras, EXACT, "key:a")
    assert found.hit is not None
    assert (found.result, found.hit.similarity, found.hit.saved_nanos) == ("exact", 1.0, 7_200)
    assert found.hit.completion.choices[0].message.content == "4"
    assert found.hit.usage == USAGE
    assert found.headers() == {"x-govern-cache": "exact"}


async def test_the_same_body_from_two_keys_never_shares(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "What is 2+2?", SEMANTIC, scope="key:a")
    request, extras = ask("What is 2+2?")
    found = await cache.lookup(request, extras, SEMANTIC, "key:b")
    assert found.hit is None
    assert found.headers() == {"x-govern-cache": "miss"}


async def test_a_disabled_cache_neither_answers_nor_stores(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    off = resolve_policy(CacheConfig())
    request, extras = ask("What is 2+2?")
    found = await cache.lookup(request, extras, off, "key:a")
    assert not found.enabled
    assert found.headers() == {"x-govern-cache": "miss"}
    assert not await cache.store(found, completion(), USAGE, 1)
    assert (await cache.stats()).entries == 0


async def test_no_store_answers_but_does_not_store(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    policy = resolve_policy(
        CacheConfig(mode="exact"), request=parse_cache_headers({"x-govern-cache-no-store": "1"})
    )
    request, extras = ask("What is 2+2?")
    found = await cache.lookup(request, extras, policy, "key:a")
    assert not await cache.store(found, completion(), USAGE, 1)
    assert (await cache.stats()).entries == 0


async def test_an_unfinished_completion_is_not_stored(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    request, extras = ask("What is 2+2?")
    found = await cache.lookup(request, extras, EXACT, "key:a")
    cut = completion()
    cut.choices[0].finish_reason = None
    assert not await cache.store(found, cut, USAGE, 1)


async def test_an_entry_expires_after_its_ttl(make_cache: CacheFactory, clock: Clock) -> None:
    cache = make_cache()
    await cache.start()
    policy = resolve_policy(
        CacheConfig(mode="exact"), request=parse_cache_headers({"x-govern-cache-ttl": "60"})
    )
    await lookup_and_store(cache, "What is 2+2?", policy)
    request, extras = ask("What is 2+2?")
    clock.advance(59)
    assert (await cache.lookup(request, extras, policy, "key:a")).hit is not None
    clock.advance(1)
    assert (await cache.lookup(request, extras, policy, "key:a")).hit is None


async def test_entries_survive_a_restart(make_cache: CacheFactory) -> None:
    first = make_cache()
    await first.start()
    await lookup_and_store(first, "What is the capital of France?", SEMANTIC)
    await first.aclose()
    second = make_cache()
    await second.start()
    request, extras = ask("What is France's capital?")
    found = await second.lookup(request, extras, SEMANTIC, "key:a")
    assert found.result == "semantic"


async def test_a_paraphrase_is_a_semantic_hit_with_its_similarity(
    make_cache: CacheFactory,
) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "How do I reverse a list in Python?", SEMANTIC)
    request, extras = ask("How can I reverse a list in Python?")
    found = await cache.lookup(request, extras, SEMANTIC, "key:a")
    assert found.hit is not None and found.result == "semantic"
    assert 0.92 <= found.hit.similarity <= 1.0
    assert found.headers()["x-govern-cache-similarity"] == f"{found.hit.similarity:.4f}"


async def test_what_is_2_plus_2_does_not_answer_2_plus_3(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "what is 2+2", SEMANTIC)
    request, extras = ask("what is 2+3")
    assert (await cache.lookup(request, extras, SEMANTIC, "key:a")).hit is None


async def test_a_paraphrase_with_other_parameters_is_a_miss(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "How do I reverse a list in Python?", SEMANTIC)
    request, extras = ask("How can I reverse a list in Python?", temperature=1.5)
    assert (await cache.lookup(request, extras, SEMANTIC, "key:a")).hit is None


async def test_exact_mode_never_answers_a_paraphrase(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "How do I reverse a list in Python?", SEMANTIC)
    request, extras = ask("How can I reverse a list in Python?")
    found = await cache.lookup(request, extras, EXACT, "key:a")
    assert (found.hit, found.semantic_skip) == (None, "mode is exact")


async def test_a_lower_threshold_header_widens_the_semantic_layer(
    make_cache: CacheFactory,
) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "Give me a recipe for pancakes.", SEMANTIC)
    request, extras = ask("Can you give me a pancake recipe?")  # cosine 0.81
    assert (await cache.lookup(request, extras, SEMANTIC, "key:a")).hit is None
    loose = resolve_policy(
        CacheConfig(mode="semantic"),
        request=parse_cache_headers({"x-govern-cache-threshold": "0.75"}),
    )
    assert (await cache.lookup(request, extras, loose, "key:a")).result == "semantic"


async def test_tool_calls_in_flight_skip_the_semantic_layer(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    messages = [
        {"role": "user", "content": "Add 2 and 2"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "4"},
    ]
    request, extras = ask("", messages=messages)
    found = await cache.lookup(request, extras, SEMANTIC, "key:a")
    assert found.semantic_skip == "tool calls in flight"
    assert found.vector is None


async def test_a_hit_is_not_stored_again(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "What is 2+2?", EXACT)
    request, extras = ask("What is 2+2?")
    found = await cache.lookup(request, extras, EXACT, "key:a")
    assert not await cache.store(found, completion("other"), USAGE, 1)


async def test_stats_count_hits_misses_and_savings(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "How do I reverse a list in Python?", SEMANTIC)
    for question in ("How do I reverse a list in Python?", "How can I reverse a list in Python?"):
        request, extras = ask(question)
        await cache.lookup(request, extras, SEMANTIC, "key:a")
    stats = await cache.stats()
    assert (stats.entries, stats.with_vectors, stats.stores) == (1, 1, 1)
    assert (stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 1, 1)
    assert stats.saved_nanos == 2 * 7_200


async def test_clear_one_scope(make_cache: CacheFactory) -> None:
    cache = make_cache()
    await cache.start()
    await lookup_and_store(cache, "What is 2+2?", EXACT, scope="key:a")
    await lookup_and_store(cache, "What is 2+2?", EXACT, scope="key:b")
    assert await cache.clear("key:a") == 1
    assert (await cache.stats("key:a")).entries == 0
    assert (await cache.stats("key:b")).entries == 1
