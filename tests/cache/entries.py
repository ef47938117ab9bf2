"""Entries, vectors and completions made by hand for backend and cache tests."""

from __future__ import annotations

import numpy as np

from govern.cache.backend import CachedResponse, CacheEntry, Vector, encode_response
from govern.usage import Usage
from govern.wire.openai import ChatCompletion, Choice, CompletionUsage, ResponseMessage

DIM = 384
T0 = 1_750_000_000.0


def unit(seed: int) -> Vector:
    """A random unit vector, the same for the same seed."""
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def near(v: Vector, similarity: float, seed: int = 99) -> Vector:
    """A unit vector whose cosine similarity to unit vector `v` is `similarity`."""
    noise = unit(seed)
    noise = noise - float(noise @ v) * v
    noise /= np.linalg.norm(noise)
    out = similarity * v + np.sqrt(1 - similarity**2) * noise
    return (out / np.linalg.norm(out)).astype(np.float32)


def completion(text: str = "four", model: str = "sim/gpt-4o-mini") -> ChatCompletion:
    """A finished one-choice completion."""
    return ChatCompletion(
        id="chatcmpl-test",
        created=1_750_000_000,
        model=model,
        choices=[Choice(index=0, message=ResponseMessage(content=text), finish_reason="stop")],
        usage=CompletionUsage(prompt_tokens=12, completion_tokens=1, total_tokens=13),
    )


def entry(
    request_hash: str = "r1",
    *,
    scope: str = "key:a",
    context_hash: str | None = "c1",
    vector: Vector | None = None,
    query: str | None = "what is 2+2",
    text: str = "four",
    created: float = T0,
    ttl: float = 3600,
    cost_nanos: int | None = 1_500,
) -> CacheEntry:
    """An entry answering `text`; without a vector it is found by exact hash only."""
    response = CachedResponse(
        completion=completion(text),
        usage=Usage(input_tokens=12, output_tokens=1),
        cost_nanos=cost_nanos,
    )
    return CacheEntry(
        scope=scope,
        request_hash=request_hash,
        context_hash=context_hash if vector is not None else None,
        model="sim/gpt-4o-mini",
        vector=vector,
        query=query if vector is not None else None,
        response=encode_response(response),
        created=created,
        expires=created + ttl,
    )
