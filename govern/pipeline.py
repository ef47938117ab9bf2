"""The request path, in order. Each step lives in its own package; this module only
sequences them, and knows nothing of HTTP.

    1. authenticate: virtual key -> Principal        (governance issue)
    2. resolve route: model (+ fallbacks) -> candidates
    3. cache lookup                                    (cache issue)
    4. for each candidate, for each retry:
         price estimate, reserve                       (pricing / governance issues)
         call the provider
         settle or release                             (governance issue)
    5. cache store, request log, metrics               (later issues)
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import msgspec

from govern.errors import (
    GovernError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from govern.providers.base import Call, ChatStream, EmbeddingResult, Provider
from govern.routing import Route
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    CompletionTokensDetails,
    CompletionUsage,
    EmbeddingRequest,
    PromptTokensDetails,
    StreamOptions,
)

if TYPE_CHECKING:
    from govern.gateway import Gateway

log = logging.getLogger("govern.pipeline")
T = TypeVar("T")

MAX_RETRY_AFTER = 10.0
"""An upstream `Retry-After` longer than this is not waited for: the next candidate is."""


def new_request_id() -> str:
    """A fresh request id (`req_` and 24 hex digits)."""
    return "req_" + uuid.uuid4().hex[:24]


@dataclass(slots=True)
class RequestContext:
    """What the edge knows about a request before the pipeline runs."""

    request_id: str = field(default_factory=new_request_id)
    received: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True, slots=True)
class Served:
    """Which upstream call produced the answer."""

    route: Route
    key_name: str
    fallback_index: int
    attempts: int

    def headers(self) -> dict[str, str]:
        """The `x-govern-*` headers describing the call."""
        return {
            "x-govern-provider": self.route.provider,
            "x-govern-model": self.route.qualified,
            "x-govern-attempts": str(self.attempts),
            "x-govern-fallback-index": str(self.fallback_index),
        }


@dataclass(slots=True)
class ChatReply:
    """A finished chat completion."""

    completion: ChatCompletion
    usage: Usage
    served: Served


@dataclass(slots=True)
class StreamReply:
    """An open chat stream: `chunks` yields content, then the usage chunk if asked for.

    Iterating may raise `UpstreamError` when the upstream breaks mid-stream; the caller
    turns that into an in-band error event.
    """

    chunks: AsyncIterator[ChatCompletionChunk]
    served: Served
    stream: ChatStream


@dataclass(slots=True)
class EmbeddingReply:
    """A finished embeddings call."""

    result: EmbeddingResult
    served: Served


async def handle_chat(
    gateway: Gateway,
    request: ChatCompletionRequest,
    extras: dict[str, msgspec.Raw] | None = None,
    ctx: RequestContext | None = None,
) -> ChatReply | StreamReply:
    """Run a chat completion through the whole path."""
    candidates = _candidates(gateway, request.model, request.fallbacks)
    extras = extras or {}
    if request.stream:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        upstream = _with_usage(request)
        stream, served = await _attempt(
            gateway, candidates, lambda p, c: p.stream(upstream, c), extras
        )
        return StreamReply(chunks=_relay(stream, include_usage), served=served, stream=stream)
    result, served = await _attempt(gateway, candidates, lambda p, c: p.chat(request, c), extras)
    completion = result.completion
    if completion.usage is None:
        completion.usage = openai_usage(result.usage)
    return ChatReply(completion=completion, usage=result.usage, served=served)


async def handle_embeddings(
    gateway: Gateway, request: EmbeddingRequest, ctx: RequestContext | None = None
) -> EmbeddingReply:
    """Run an embeddings call through the path."""
    candidates = _candidates(gateway, request.model, None)
    result, served = await _attempt(gateway, candidates, lambda p, c: p.embed(request, c), {})
    return EmbeddingReply(result=result, served=served)


def _candidates(gateway: Gateway, model: str, fallbacks: list[str] | None) -> list[Route]:
    routes = [gateway.router.resolve(model)]
    for i, name in enumerate(fallbacks or ()):
        try:
            routes.append(gateway.router.resolve(name))
        except GovernError as exc:
            exc.param = f"fallbacks[{i}]"
            raise
    return routes


def _with_usage(request: ChatCompletionRequest) -> ChatCompletionRequest:
    # The gateway always needs the usage of a stream (to price it), whatever the client
    # asked; the relay strips the usage chunk again if the client did not ask for it.
    if request.stream_options and request.stream_options.include_usage:
        return request
    return msgspec.structs.replace(request, stream_options=StreamOptions(include_usage=True))


async def _attempt(
    gateway: Gateway,
    candidates: list[Route],
    run: Callable[[Provider, Call], Awaitable[T]],
    extras: dict[str, msgspec.Raw],
) -> tuple[T, Served]:
    """Try each candidate in order, retrying retryable failures with backoff."""
    failures: list[tuple[Route, UpstreamError]] = []
    attempts = 0
    for index, route in enumerate(candidates):
        provider = gateway.providers[route.provider]
        retries = provider.config.max_retries
        key = None
        for attempt in range(retries + 1):
            key = gateway.router.pick_key(route, avoid=key)
            attempts += 1
            try:
                result = await run(provider, Call(route.provider, route.model, key, extras))
            except UpstreamError as exc:
                if not exc.retryable:
                    raise
                log.info(
                    "attempt %d on %s (key %s) failed: %s",
                    attempts,
                    route.qualified,
                    key.name,
                    exc.message,
                )
                failures.append((route, exc))
                if attempt < retries:
                    await asyncio.sleep(_backoff(provider.config.retry_backoff, attempt, exc))
                continue
            return result, Served(route, key.name, index, attempts)
    raise _exhausted(failures)


def _backoff(base: float, attempt: int, exc: UpstreamError) -> float:
    retry_after = exc.retry_after if isinstance(exc, UpstreamStatusError) else None
    if retry_after is not None and retry_after <= MAX_RETRY_AFTER:
        return retry_after
    return float(base * (2**attempt) * (0.5 + random.random() / 2))


def _exhausted(failures: list[tuple[Route, UpstreamError]]) -> UpstreamError:
    """The error reported once every candidate and retry has failed."""
    last_route, last = failures[-1]
    tried = "; ".join(f"{route.qualified}: {exc.message}" for route, exc in failures)
    summary = f"all {len(failures)} attempts failed ({tried})"
    if isinstance(last, UpstreamTimeout):
        return UpstreamTimeout(summary, provider=last_route.provider)
    if isinstance(last, UpstreamStatusError) and last.upstream_status == 429:
        return UpstreamStatusError(
            summary,
            provider=last_route.provider,
            upstream_status=429,
            retry_after=last.retry_after,
        )
    return UpstreamUnavailable(summary, provider=last_route.provider)


async def _relay(stream: ChatStream, include_usage: bool) -> AsyncIterator[ChatCompletionChunk]:
    """Content chunks from the provider, then the usage chunk if the client asked."""
    last: ChatCompletionChunk | None = None
    try:
        async for chunk in stream:
            last = chunk
            yield chunk
        if include_usage and last is not None and stream.usage is not None:
            yield ChatCompletionChunk(
                id=last.id,
                created=last.created,
                model=last.model,
                choices=[],
                usage=openai_usage(stream.usage),
            )
        elif stream.usage is None:
            log.warning("stream ended without usage from the upstream")
    finally:
        await stream.aclose()


def openai_usage(usage: Usage) -> CompletionUsage:
    """A normalised Usage in OpenAI's wire shape."""
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cache_read_tokens),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=usage.reasoning_tokens),
    )
