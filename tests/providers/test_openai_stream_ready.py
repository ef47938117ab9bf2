"""`OpenAIStream.ready`: how many decoded chunks wait, so a relay can batch its writes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest

from govern.config import ProviderKey
from govern.errors import UpstreamUnavailable
from govern.providers.openai import OpenAIStream


class Reads:
    """An upstream response whose body arrives in the given reads."""

    status = 200
    headers: Mapping[str, str] = {}

    def __init__(self, *reads: bytes):
        self._reads = reads

    async def read(self) -> bytes:
        return b"".join(self._reads)

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        for data in self._reads:
            yield data

    async def aclose(self) -> None:
        pass


def event(content: str) -> bytes:
    """One content chunk as an SSE event."""
    return (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"' + content.encode() + b'"}}]}\n\n'
    )


async def readiness(stream: OpenAIStream) -> list[tuple[str | None, int]]:
    """Each chunk's content with `ready` as seen when it was yielded."""
    seen = []
    async for chunk in stream:
        seen.append((chunk.choices[0].delta.content, stream.ready))
    return seen


async def test_chunks_of_one_read_count_down_to_zero() -> None:
    body = event("a") + event("b") + event("c") + b"data: [DONE]\n\n"
    stream = OpenAIStream("openai", Reads(body), ProviderKey())
    assert await readiness(stream) == [("a", 2), ("b", 1), ("c", 0)]


async def test_each_read_ends_at_zero() -> None:
    reads = (event("a") + event("b"), event("c"), b"data: [DONE]\n\n")
    stream = OpenAIStream("openai", Reads(*reads), ProviderKey())
    assert await readiness(stream) == [("a", 1), ("b", 0), ("c", 0)]


async def test_an_error_event_comes_after_the_chunks_before_it() -> None:
    body = event("a") + b'data: {"error": {"message": "overloaded"}}\n\n' + event("b")
    stream = OpenAIStream("openai", Reads(body), ProviderKey())
    seen: list[str | None] = []
    with pytest.raises(UpstreamUnavailable, match="overloaded"):
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content)
    assert seen == ["a"]
