"""The `Provider` protocol and the values that cross the provider boundary.

A provider receives the gateway's OpenAI-shaped request Struct and returns OpenAI-shaped
response Structs plus a normalised `Usage`. Everything provider-specific (URLs, auth,
wire Structs, stream decoding, usage fields, error bodies) stays inside its module.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from govern.config import ProviderConfig, ProviderKey
from govern.errors import (
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from govern.transport import Timeouts, Transport, TransportError, TransportTimeout
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
)


@dataclass(slots=True)
class Call:
    """One upstream attempt: which provider, key and upstream model serve a request."""

    provider: str
    """The provider's name in the config (the model prefix)."""
    model: str
    """The model id the upstream knows (prefix removed)."""
    key: ProviderKey
    """The credential chosen for this attempt."""
    extra_body: dict[str, msgspec.Raw] = field(default_factory=dict)
    """Request fields the gateway does not model; only OpenAI-compatible upstreams get them."""


@dataclass(slots=True)
class ChatResult:
    """A finished, non-streaming completion."""

    completion: ChatCompletion
    usage: Usage


@dataclass(slots=True)
class EmbeddingResult:
    """A finished embeddings call."""

    response: EmbeddingResponse
    usage: Usage


class ChatStream(Protocol):
    """An open stream: iterate for content chunks (never a usage-only chunk).

    `usage` is set once the upstream has reported it, normally after the last chunk.
    Iteration raises `UpstreamError` if the stream breaks.
    """

    usage: Usage | None

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        """The content chunks, in order."""
        ...

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        ...


class Provider(Protocol):
    """Translates OpenAI-shaped calls to one upstream protocol and back."""

    name: str
    config: ProviderConfig

    async def chat(self, request: ChatCompletionRequest, call: Call) -> ChatResult:
        """Run a non-streaming chat completion."""
        ...

    async def stream(self, request: ChatCompletionRequest, call: Call) -> ChatStream:
        """Open a streaming chat completion; returns once the upstream accepted it."""
        ...

    async def embed(self, request: EmbeddingRequest, call: Call) -> EmbeddingResult:
        """Compute embeddings (raise `UpstreamStatusError` 400 if unsupported)."""
        ...

    async def aclose(self) -> None:
        """Release connections and clients."""
        ...


class ProviderFactory(Protocol):
    """Builds a provider from its config and the shared transport."""

    def __call__(self, name: str, config: ProviderConfig, transport: Transport) -> Provider:
        """A ready provider."""
        ...


def timeouts_for(config: ProviderConfig) -> Timeouts:
    """The transport limits a provider config asks for."""
    return Timeouts(total=config.timeout, connect=config.connect_timeout, read=config.timeout)


def transport_failure(exc: TransportError, provider: str) -> UpstreamError:
    """The gateway error for a transport failure talking to `provider`."""
    if isinstance(exc, TransportTimeout):
        return UpstreamTimeout(f"{provider} timed out: {exc}", provider=provider)
    return UpstreamUnavailable(f"{provider} is unreachable: {exc}", provider=provider)


def unsupported(provider: str, what: str) -> UpstreamStatusError:
    """The 400 answer for an operation a provider does not offer."""
    return UpstreamStatusError(
        f"provider {provider!r} does not support {what}",
        provider=provider,
        upstream_status=400,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` (seconds or HTTP date) or `retry-after-ms`, as seconds."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def now() -> int:
    """Unix time in seconds, as response `created` fields want it."""
    return int(time.time())
