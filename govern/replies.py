"""What a request carries through the path, and what the path hands back to the edge."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from govern.accounting import Charge
from govern.cache.policy import RequestCacheOptions
from govern.governance.principal import Principal
from govern.providers.base import ChatStream, EmbeddingResult
from govern.routing import Route
from govern.usage import Usage
from govern.wire.openai import ChatCompletion, ChatCompletionChunk


def new_request_id() -> str:
    """A fresh request id: `req_`, then 24 hex digits: the time in milliseconds (12) and
    48 random bits (12), so ids sort by time."""
    # Time first, as in UUIDv7: the request log's index on request_id then grows at its
    # end instead of at random pages, which kept SQLite inserts fast as the log grows.
    return f"req_{time.time_ns() // 1_000_000:012x}{os.urandom(6).hex()}"


def header_safe(value: str) -> str:
    """`value` as a header can carry it: text with control or non-ASCII characters (a
    model name the client chose) is percent-encoded."""
    if value.isascii() and value.isprintable():
        return value
    return quote(value, safe=" !\"#$&'()*+,/:;<=>?@[]^`{|}~")


@dataclass(slots=True)
class RequestContext:
    """What the edge knows about a request, and the time it spends upstream."""

    request_id: str = field(default_factory=new_request_id)
    received: float = field(default_factory=time.perf_counter)
    api_key: str | None = None
    """The virtual key the caller presented (authenticated by the governance step)."""
    principal: Principal | None = None
    """The authenticated caller, once `authenticated` (None: ungoverned)."""
    authenticated: bool = False
    cache_options: RequestCacheOptions | None = None
    """The `x-govern-cache*` request headers, parsed at the edge."""
    upstream_seconds: float = 0.0
    """Time spent waiting for upstream calls, so overhead = elapsed - this."""
    answer_first: bool = False
    """The edge sends a finished answer before it is recorded, then awaits its `finish`
    (set by the chat route: the client does not wait for the bookkeeping)."""

    def overhead_ms(self) -> float:
        """Milliseconds spent in the gateway itself so far (upstream time excluded)."""
        return (time.perf_counter() - self.received - self.upstream_seconds) * 1000


@dataclass(frozen=True, slots=True)
class Served:
    """Which upstream call produced the answer."""

    route: Route
    key_name: str
    fallback_index: int
    attempts: int
    rate_limits: dict[str, str] = field(default_factory=dict)
    """`x-ratelimit-*` headers of the caller's tightest request and token limits."""
    cache: dict[str, str] = field(default_factory=dict)
    """`x-govern-cache` (and the similarity of a semantic hit)."""

    def headers(self) -> dict[str, str]:
        """The `x-govern-*` and `x-ratelimit-*` headers describing the call."""
        return {
            "x-govern-provider": header_safe(self.route.provider),
            "x-govern-model": header_safe(self.route.qualified),
            "x-govern-attempts": str(self.attempts),
            "x-govern-fallback-index": str(self.fallback_index),
            **self.rate_limits,
            **self.cache,
        }


@dataclass(slots=True)
class ChatReply:
    """A finished chat completion and what it cost."""

    completion: ChatCompletion
    usage: Usage
    served: Served
    charge: Charge
    finish: Callable[[], Awaitable[None]] | None = None
    """With `RequestContext.answer_first`: settles and records the call; the edge must
    await it once the answer is sent (or failed to send)."""

    def headers(self, ctx: RequestContext) -> dict[str, str]:
        """Response headers: request id, call, cost and overhead."""
        return _headers(ctx, self.served, self.charge)


@dataclass(slots=True)
class StreamReply:
    """An open chat stream: `chunks` yields content, then the usage chunk if asked for.

    Iterating may raise `UpstreamError` when the upstream breaks mid-stream; the caller
    turns that into an in-band error event. `charge` is set once the stream has ended.
    """

    chunks: AsyncGenerator[ChatCompletionChunk, None]
    served: Served
    stream: ChatStream
    charge: Charge | None = None
    abandon: Callable[[], Awaitable[None]] | None = None
    """Closes and records the stream when `chunks` is never iterated (the answer could
    not start); None when there is nothing to close."""

    def headers(self, ctx: RequestContext) -> dict[str, str]:
        """Response headers (the cost comes at the end of the stream, not here)."""
        return _headers(ctx, self.served, None)


@dataclass(slots=True)
class EmbeddingReply:
    """A finished embeddings call and what it cost."""

    result: EmbeddingResult
    served: Served
    charge: Charge

    def headers(self, ctx: RequestContext) -> dict[str, str]:
        """Response headers: request id, call, cost and overhead."""
        return _headers(ctx, self.served, self.charge)


def _headers(ctx: RequestContext, served: Served, charge: Charge | None) -> dict[str, str]:
    headers = {"x-govern-request-id": ctx.request_id, **served.headers()}
    if charge is not None:
        cost_header = charge.header
        if cost_header is None:
            headers["x-govern-unpriced"] = "true"
        else:
            headers["x-govern-cost-usd"] = cost_header
    headers["x-govern-overhead-ms"] = f"{ctx.overhead_ms():.3f}"
    return headers
