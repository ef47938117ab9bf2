"""What a cache backend stores and the protocol every backend meets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import msgspec
import numpy as np
import numpy.typing as npt

from govern.usage import Usage
from govern.wire.openai import ChatCompletion

Vector = npt.NDArray[np.float32]
"""A unit-length embedding."""


class CachedResponse(msgspec.Struct, kw_only=True):
    """The stored value: the complete answer, its usage and what it cost."""

    completion: ChatCompletion
    """The response as it was given (a stream is stored assembled)."""
    usage: Usage
    """Its normalised usage."""
    cost_nanos: int | None
    """What the call cost in nano-dollars, or None when the model was unpriced: a hit
    reports it as saved."""


_RESPONSE_ENCODER = msgspec.json.Encoder()
_RESPONSE_DECODER = msgspec.json.Decoder(CachedResponse)


def encode_response(response: CachedResponse) -> bytes:
    """The stored form of a response (JSON)."""
    return _RESPONSE_ENCODER.encode(response)


def decode_response(data: bytes | str) -> CachedResponse:
    """A stored response back from its stored form."""
    return _RESPONSE_DECODER.decode(data)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One stored answer and the keys it is found by."""

    scope: str
    """The partition it belongs to (`key:<id>`, `team:<id>`, `customer:<id>`, `global`)."""
    request_hash: str
    """The exact layer's key (see `govern.cache.keys`)."""
    context_hash: str | None
    """The semantic layer's partition within the scope; None: found by exact hash only."""
    model: str
    """The model as requested."""
    vector: Vector | None
    """The embedding of the final user turn; None: found by exact hash only."""
    query: str | None
    """The final user turn's text that `vector` embeds (checked by `govern.cache.guard`)."""
    response: bytes
    """`encode_response(CachedResponse)`."""
    created: float
    """Unix time it was stored."""
    expires: float
    """Unix time after which it is never served."""


@dataclass(frozen=True, slots=True)
class BackendStats:
    """How many live entries a backend holds."""

    entries: int
    """Entries not yet expired (in the scope asked about, or in all)."""
    with_vectors: int
    """Of those, entries the semantic layer can find."""


class CacheBackend(Protocol):
    """Where entries live. Reads never return an expired entry; `put` replaces an entry
    with the same scope and request hash."""

    async def start(self) -> None:
        """Connect or load; called once before use."""
        ...

    async def get(self, scope: str, request_hash: str, now: float) -> CacheEntry | None:
        """The live entry stored under this scope and request hash."""
        ...

    async def nearest(
        self,
        scope: str,
        context_hash: str,
        vector: Vector,
        min_similarity: float,
        now: float,
        limit: int = 3,
    ) -> list[tuple[CacheEntry, float]]:
        """Up to `limit` live entries of this scope and context whose cosine similarity to
        `vector` is at least `min_similarity`, most similar first, with it."""
        ...

    async def put(self, entry: CacheEntry) -> None:
        """Store an entry (replacing the one with the same scope and request hash)."""
        ...

    async def clear(self, scope: str | None = None) -> int:
        """Delete every entry of one scope, or all; return how many were deleted."""
        ...

    async def purge(self, now: float) -> int:
        """Delete expired entries (and enforce any size bound); return how many."""
        ...

    async def stats(self, now: float, scope: str | None = None) -> BackendStats:
        """Counts of live entries."""
        ...

    async def aclose(self) -> None:
        """Finish pending writes and release connections."""
        ...


@runtime_checkable
class CountsByScope(Protocol):
    """A backend that counts the live entries of every scope in one pass (optional)."""

    async def stats_by_scope(self, now: float) -> dict[str, BackendStats]:
        """Counts of live entries, by scope (scopes without any left out)."""
        ...
