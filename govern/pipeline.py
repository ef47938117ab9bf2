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
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

import msgspec

from govern.accounting import Accountant, Attempt, Charge
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
T_co = TypeVar("T_co", covariant=True)

MAX_RETRY_AFTER = 10.0
"""An upstream `Retry-After` longer than this is not waited for: the next candidate is."""


def new_request_id() -> str:
    """A fresh request id (`req_` and 24 hex digits)."""
    return "req_" + uuid.uuid4().hex[:24]


@dataclass(slots=True)
class RequestContext:
    """What the edge knows about a request, and the time it spends upstream."""

    request_id: str = field(default_factory=new_request_id)
    received: float = field(default_factory=time.perf_counter)
    api_key: str | None = None
    """The virtual key the caller presented (authenticated by the governance step)."""
    upstream_seconds: float = 0.0
    """Time spent waiting for upstream calls, so overhead = elapsed - this."""

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
    """A finished chat completion and what it cost."""

    completion: ChatCompletion
    usage: Usage
    served: Served
    charge: Charge

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


class _Call(Protocol[T_co]):
    def __call__(self, provider: Provider, call: Call) -> Awaitable[T_co]: ...


async def handle_chat(
    gateway: Gateway,
    request: ChatCompletionRequest,
    extras: dict[str, msgspec.Raw] | None,
    ctx: RequestContext,
) -> ChatReply | StreamReply:
    """Run a chat completion through the whole path."""
    stream = bool(request.stream)
    candidates = await _candidates(gateway, request.model, request.fallbacks, stream, ctx)
    extras = extras or {}
    if stream:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        upstream = _with_usage(request)
        opened, served, attempt = await _attempt(
            gateway,
            ctx,
            request.model,
            True,
            candidates,
            lambda p, c: p.stream(upstream, c),
            extras,
        )
        reply = StreamReply(chunks=_empty(), served=served, stream=opened)
        reply.chunks = _relay(gateway.accountant, reply, attempt, include_usage)
        return reply
    result, served, attempt = await _attempt(
        gateway, ctx, request.model, False, candidates, lambda p, c: p.chat(request, c), extras
    )
    charge = await gateway.accountant.succeeded(attempt, result.usage)
    completion = result.completion
    if completion.usage is None:
        completion.usage = openai_usage(result.usage)
    return ChatReply(completion=completion, usage=result.usage, served=served, charge=charge)


async def handle_embeddings(
    gateway: Gateway, request: EmbeddingRequest, ctx: RequestContext
) -> EmbeddingReply:
    """Run an embeddings call through the path."""
    candidates = await _candidates(gateway, request.model, None, False, ctx)
    result, served, attempt = await _attempt(
        gateway, ctx, request.model, False, candidates, lambda p, c: p.embed(request, c), {}
    )
    charge = await gateway.accountant.succeeded(attempt, result.usage)
    return EmbeddingReply(result=result, served=served, charge=charge)


async def _candidates(
    gateway: Gateway,
    model: str,
    fallbacks: list[str] | None,
    stream: bool,
    ctx: RequestContext,
) -> list[Route]:
    try:
        routes = [gateway.router.resolve(model)]
        for i, name in enumerate(fallbacks or ()):
            try:
                routes.append(gateway.router.resolve(name))
            except GovernError as exc:
                exc.param = f"fallbacks[{i}]"
                raise
    except GovernError as exc:
        await gateway.accountant.rejected(ctx.request_id, model, stream, exc)
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
    ctx: RequestContext,
    model: str,
    stream: bool,
    candidates: list[Route],
    run: _Call[T],
    extras: dict[str, msgspec.Raw],
) -> tuple[T, Served, Attempt]:
    """Try each candidate in order, retrying retryable failures with backoff."""
    failures: list[tuple[Route, UpstreamError]] = []
    accountant = gateway.accountant
    number = 0
    for index, route in enumerate(candidates):
        provider = gateway.providers[route.provider]
        kind = gateway.config.provider_kind(route.provider)
        retries = provider.config.max_retries
        key = None
        for retry in range(retries + 1):
            key = gateway.router.pick_key(route, avoid=key)
            number += 1
            try:
                attempt = accountant.open(
                    request_id=ctx.request_id,
                    number=number,
                    route=route,
                    kind=kind,
                    key_name=key.name,
                    fallback_index=index,
                    model_requested=model,
                    stream=stream,
                )
            except GovernError as exc:
                await accountant.rejected(ctx.request_id, model, stream, exc, route)
                raise
            started = time.perf_counter()
            try:
                result = await run(provider, Call(route.provider, route.model, key, extras))
            except UpstreamError as exc:
                ctx.upstream_seconds += time.perf_counter() - started
                await accountant.failed(attempt, exc)
                if not exc.retryable:
                    raise
                log.info(
                    "attempt %d on %s (key %s) failed: %s",
                    number,
                    route.qualified,
                    key.name,
                    exc.message,
                )
                failures.append((route, exc))
                if retry < retries:
                    await asyncio.sleep(_backoff(provider.config.retry_backoff, retry, exc))
                continue
            ctx.upstream_seconds += time.perf_counter() - started
            return result, Served(route, key.name, index, number), attempt
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


async def _empty() -> AsyncGenerator[ChatCompletionChunk, None]:
    return
    yield  # pragma: no cover - makes this an async generator


CLIENT_CLOSED = 499
"""The status logged for a stream the client stopped reading (nginx's convention)."""


async def _relay(
    accountant: Accountant, reply: StreamReply, attempt: Attempt, include_usage: bool
) -> AsyncGenerator[ChatCompletionChunk, None]:
    """Content chunks from the provider, then the usage chunk if the client asked; the
    attempt is recorded when the stream ends, however it ends."""
    stream = reply.stream
    last: ChatCompletionChunk | None = None
    status: int = CLIENT_CLOSED
    error_type: str | None = "client_disconnected"
    try:
        async for chunk in stream:
            if last is None:
                attempt.first_token()
            last = chunk
            yield chunk
        status, error_type = 200, None
        if stream.usage is None:
            log.warning("stream from %s ended without usage", attempt.route.qualified)
        reply.charge = await accountant.succeeded(attempt, stream.usage)
        if include_usage and last is not None and stream.usage is not None:
            usage = openai_usage(stream.usage)
            usage.cost_usd = reply.charge.header
            yield ChatCompletionChunk(
                id=last.id, created=last.created, model=last.model, choices=[], usage=usage
            )
    except GovernError as exc:
        status, error_type = exc.status, exc.type
        raise
    finally:
        if status != 200:
            # Tokens already streamed were billed upstream: charge what the provider
            # reported so far (the governance issue refines this for disconnects).
            reply.charge = await accountant.succeeded(
                attempt, stream.usage, status=status, error_type=error_type
            )
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
