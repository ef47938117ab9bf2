"""The request path, in order. Each step lives in its own module; this one only sequences
them, and knows nothing of HTTP.

    1. authenticate: virtual key -> Principal          govern.governance (Gate)
    2. resolve route: model (+ fallbacks) -> candidates govern.routing; allow lists
    3. cache lookup                                      (the cache issue)
    4. for each candidate, provider config and retry:   govern.attempts
         price, estimate, reserve on every tier         govern.accounting, catalog, ledger
         call the provider                              govern.providers
         settle or release
    5. cache store; request log and metrics             govern.accounting, govern.relay
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec

from govern.accounting import Estimator
from govern.attempts import attempt_candidates
from govern.catalog import PriceResult
from govern.errors import GovernError
from govern.governance.estimate import TokenEstimate, estimate_chat, estimate_embedding
from govern.relay import empty, openai_usage, relay
from govern.replies import (
    ChatReply,
    EmbeddingReply,
    RequestContext,
    StreamReply,
    new_request_id,
)
from govern.routing import Route
from govern.wire.openai import ChatCompletionRequest, EmbeddingRequest, StreamOptions

if TYPE_CHECKING:
    from govern.gateway import Gateway
    from govern.governance.principal import Principal

log = logging.getLogger("govern.pipeline")

__all__ = [
    "ChatReply",
    "EmbeddingReply",
    "RequestContext",
    "StreamReply",
    "handle_chat",
    "handle_embeddings",
    "new_request_id",
]


async def handle_chat(
    gateway: Gateway,
    request: ChatCompletionRequest,
    extras: dict[str, msgspec.Raw] | None,
    ctx: RequestContext,
) -> ChatReply | StreamReply:
    """Run a chat completion through the whole path."""
    stream = bool(request.stream)
    principal = await _authenticate(gateway, ctx, request.model, stream)
    candidates = await _candidates(
        gateway, ctx, request.model, request.fallbacks, stream, principal
    )
    if principal is not None and principal.key.prefer == "cheapest":
        candidates = _cheapest_first(gateway, candidates, request)

    def estimator_for(route: Route, kind: str) -> Estimator:
        return _chat_estimator(gateway, route, kind, request)

    if stream:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        upstream = _with_usage(request)
        opened = await attempt_candidates(
            gateway,
            ctx,
            model=request.model,
            stream=True,
            candidates=candidates,
            principal=principal,
            estimator_for=estimator_for,
            extras=extras or {},
            output_limit=request.output_limit,
            run=lambda p, c, cap: p.stream(_limited(upstream, cap), c),
        )
        reply = StreamReply(chunks=empty(), served=opened.served, stream=opened.result)
        reply.chunks = relay(gateway.accountant, reply, opened.attempt, include_usage)
        return reply
    done = await attempt_candidates(
        gateway,
        ctx,
        model=request.model,
        stream=False,
        candidates=candidates,
        principal=principal,
        estimator_for=estimator_for,
        extras=extras or {},
        output_limit=request.output_limit,
        run=lambda p, c, cap: p.chat(_limited(request, cap), c),
    )
    result = done.result
    charge = await gateway.accountant.succeeded(done.attempt, result.usage)
    completion = result.completion
    if completion.usage is None:
        completion.usage = openai_usage(result.usage)
    return ChatReply(completion=completion, usage=result.usage, served=done.served, charge=charge)


async def handle_embeddings(
    gateway: Gateway, request: EmbeddingRequest, ctx: RequestContext
) -> EmbeddingReply:
    """Run an embeddings call through the path."""
    principal = await _authenticate(gateway, ctx, request.model, False)
    candidates = await _candidates(gateway, ctx, request.model, None, False, principal)

    def estimator_for(route: Route, kind: str) -> Estimator:
        estimate = estimate_embedding(request, sim=kind == "sim")
        return lambda price: estimate

    done = await attempt_candidates(
        gateway,
        ctx,
        model=request.model,
        stream=False,
        candidates=candidates,
        principal=principal,
        estimator_for=estimator_for,
        extras={},
        output_limit=0,
        run=lambda p, c, cap: p.embed(request, c),
    )
    charge = await gateway.accountant.succeeded(done.attempt, done.result.usage)
    return EmbeddingReply(result=done.result, served=done.served, charge=charge)


async def _authenticate(
    gateway: Gateway, ctx: RequestContext, model: str, stream: bool
) -> Principal | None:
    if not ctx.authenticated:
        try:
            ctx.principal = gateway.gate.authenticate(ctx.api_key)
        except GovernError as exc:
            await gateway.accountant.rejected(ctx.request_id, model, stream, exc)
            raise
        ctx.authenticated = True
    return ctx.principal


async def _candidates(
    gateway: Gateway,
    ctx: RequestContext,
    model: str,
    fallbacks: list[str] | None,
    stream: bool,
    principal: Principal | None,
) -> list[Route]:
    """The requested model and its fallbacks as routes the caller may use (404/403)."""
    routes: list[Route] = []
    try:
        for i, name in enumerate([model, *(fallbacks or ())]):
            try:
                route = gateway.router.resolve(name)
                if principal is not None:
                    principal.check_model(route)
            except GovernError as exc:
                if i:
                    exc.param = f"fallbacks[{i - 1}]"
                raise
            routes.append(route)
    except GovernError as exc:
        await gateway.accountant.rejected(
            ctx.request_id, model, stream, exc, routes[0] if routes else None, principal
        )
        raise
    return routes


def _chat_estimator(
    gateway: Gateway, route: Route, kind: str, request: ChatCompletionRequest
) -> Estimator:
    provider = gateway.providers[route.provider].config
    if kind == "sim":
        default = provider.default_output_tokens
    elif kind in ("anthropic", "bedrock"):
        default = provider.default_max_tokens
    else:
        default = gateway.config.governance.default_max_output_tokens

    def estimate(price: PriceResult | None) -> TokenEstimate:
        return estimate_chat(
            request,
            sim=kind == "sim",
            context_window=price.context_window if price is not None else None,
            max_output_tokens=price.max_output_tokens if price is not None else None,
            default_output_tokens=default,
        )

    return estimate


def _cheapest_first(
    gateway: Gateway, candidates: list[Route], request: ChatCompletionRequest
) -> list[Route]:
    """Candidates ordered by estimated worst-case cost (unpriced ones last)."""
    from govern.governance.estimate import estimate_cost_nanos

    def cost(route: Route) -> float:
        kind = gateway.config.provider_kind(route.provider)
        price = gateway.catalog.price(kind, route.provider, route.model)
        if price is None:
            return float("inf")
        return estimate_cost_nanos(_chat_estimator(gateway, route, kind, request)(price), price)

    return sorted(candidates, key=cost)


def _with_usage(request: ChatCompletionRequest) -> ChatCompletionRequest:
    # The gateway always needs the usage of a stream (to price it), whatever the client
    # asked; the relay strips the usage chunk again if the client did not ask for it.
    if request.stream_options and request.stream_options.include_usage:
        return request
    return msgspec.structs.replace(request, stream_options=StreamOptions(include_usage=True))


def _limited(request: ChatCompletionRequest, limit: int | None) -> ChatCompletionRequest:
    """The request with an output limit imposed (the reservation's assumption)."""
    if limit is None:
        return request
    return msgspec.structs.replace(request, max_completion_tokens=limit)
