"""The labelled paraphrase / near-miss set at the default threshold, through the real
cache on the embedded backend with the real all-MiniLM-L6-v2 model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import numpy as np
import pytest

from govern.cache import open_cache, resolve_policy
from govern.cache.embedder import Embedder
from govern.cache.guard import compatible
from govern.config import CacheConfig
from govern.usage import Usage
from govern.wire.decode import decode_chat_request
from govern.wire.openai import ChatCompletionRequest
from tests.cache.entries import completion
from tests.cache.labelled import NEAR_MISSES, PARAPHRASES

DEFAULT = CacheConfig().threshold
pytestmark = pytest.mark.slow


async def hits(pairs: list[tuple[str, str]], tmp_path: Path) -> list[bool]:
    """For each pair: store an answer to the first question (in a scope of its own),
    then ask the second; True where the cache answers it."""
    cache = open_cache(CacheConfig(mode="semantic"), tmp_path)
    await cache.start()
    policy = resolve_policy(cache.config)

    async def pair(i: int, stored: str, asked: str) -> bool:
        scope = f"key:pair{i}"
        stored_request, stored_extras = _request(stored)
        lookup = await cache.lookup(stored_request, stored_extras, policy, scope)
        assert await cache.store(lookup, completion(), Usage(input_tokens=9), 1)
        asked_request, asked_extras = _request(asked)
        return (await cache.lookup(asked_request, asked_extras, policy, scope)).hit is not None

    # Concurrent pairs share embedding batches; each pair stores before it asks.
    found = await asyncio.gather(*(pair(i, a, b) for i, (a, b) in enumerate(pairs)))
    await cache.aclose()
    return list(found)


def _request(question: str) -> tuple[ChatCompletionRequest, dict[str, msgspec.Raw]]:
    body = {"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    return decode_chat_request(msgspec.json.encode(body))


async def test_no_near_miss_is_answered_at_the_default_threshold(tmp_path: Path) -> None:
    answered = [
        pair
        for pair, hit in zip(NEAR_MISSES, await hits(NEAR_MISSES, tmp_path), strict=True)
        if hit
    ]
    assert answered == []


async def test_most_paraphrases_are_answered_at_the_default_threshold(tmp_path: Path) -> None:
    found = await hits(PARAPHRASES, tmp_path)
    missed = [pair for pair, hit in zip(PARAPHRASES, found, strict=True) if not hit]
    # Measured: 27 of 34 answered; the 7 misses (3 below 0.92, 4 blocked by the lexical
    # guard) are listed in docs/cache.md. A miss costs a call;
    # a wrong hit costs a wrong answer.
    assert len(missed) <= 7, missed


async def test_the_default_threshold_sits_between_the_classes_the_guard_lets_through() -> None:
    """0.92 is above every near miss that passes the lexical guard (the threshold is
    what stops those), with a margin, and below nearly all paraphrases."""
    embedder = Embedder()
    texts = sorted({t for pair in PARAPHRASES + NEAR_MISSES for t in pair})
    vectors = dict(zip(texts, await asyncio.gather(*map(embedder.embed, texts)), strict=True))
    embedder.close()

    def similarity(a: str, b: str) -> float:
        va, vb = vectors[a], vectors[b]
        assert va is not None and vb is not None
        return float(np.dot(va, vb))

    guarded = [similarity(a, b) for a, b in NEAR_MISSES if compatible(b, a)]
    paraphrases = [similarity(a, b) for a, b in PARAPHRASES]
    print(f"\nnear misses passing the guard: n={len(guarded)} max={max(guarded):.4f}")
    print(
        f"paraphrases: n={len(paraphrases)} min={min(paraphrases):.4f} "
        f"median={float(np.median(paraphrases)):.4f}"
    )
    assert max(guarded) < DEFAULT - 0.02
    assert sum(s >= DEFAULT for s in paraphrases) >= 0.85 * len(paraphrases)
