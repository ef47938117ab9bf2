"""The request path, in order. Each step lives in its own module; this one only sequences
them, and knows nothing of HTTP.

    1. authenticate: virtual key -> Principal          govern.governance (Gate)
    2. resolve route: model (+ fallbacks) -> candidates govern.routing; allow lists
    3. cache lookup: exact, then semantic                govern.cache
    4. for each candidate, provider config and retry:   govern.attempts
         price, estimate, reserve on every tier         govern.accounting, catalog, ledger
         call the provider                              govern.providers
         settle or release
    5. cache store; request log and metrics             govern.cache, accounting, relay
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import msgspec

from govern.accounting import Charge, Estimator
from govern.attempts import attempt_candidates
from govern.cache import CacheLookup, completion_to_chunks, resolve_policy, scope_id
from govern.catalog import PriceResult
from govern.errors import GovernError
from govern.governance.estimate import TokenEstimate, estimate_chat, estimate_embedding
from govern.relay import (
    ReplayedStream,
    StreamStore,
    abandon,
    empty,
    openai_usage,
    relay,
    replay,
)
from govern.replies import (
    ChatReply,
    EmbeddingReply,
    RequestContext,
    Served,
    StreamReply,
    new_request_id,
)
from govern.routing import Route
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingRequest,
    StreamOptions,
)

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
    lookup = await _cache_lookup(gateway, ctx, request, extras, principal)
    if lookup.hit is not None:
        return await _from_cache(gateway, ctx, request, candidates[0], principal, lookup)

    def estimator_for(route: Route, kind: str) -> Estimator:
        return _chat_estimator(gateway, route, kind, request)

    attempt = partial(
        attempt_candidates,
        gateway,
        ctx,
        model=request.model,
        stream=stream,
        candidates=candidates,
        principal=principal,
        estimator_for=estimator_for,
        extras=extras or {},
        output_limit=request.output_limit,
    )
    if stream:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        upstream = _with_usage(request)
        opened = await attempt(run=lambda p, c, cap: p.stream(_limited(upstream, cap), c))
        served = replace(opened.served, cache=lookup.headers())
        reply = StreamReply(chunks=empty(), served=served, stream=opened.result)
        reply.chunks = relay(
            gateway.accountant,
            reply,
            opened.attempt,
            include_usage,
            store=_stream_store(gateway, lookup),
        )
        reply.abandon = partial(abandon, gateway.accountant, reply, opened.attempt)
        return reply
    done = await attempt(run=lambda p, c, cap: p.chat(_limited(request, cap), c))
    result = done.result
    accountant = gateway.accountant
    charge = accountant.charge(done.attempt, result.usage)
    record = partial(accountant.record, done.attempt, result.usage, charge)
    completion = result.completion
    if completion.usage is None:
        completion.usage = openai_usage(result.usage)
    try:
        if lookup.enabled:  # before the answer: the same request sent next must hit
            await gateway.cache.store(lookup, completion, result.usage, _nanos(charge))
    except BaseException:
        await record()
        raise
    served = replace(done.served, cache=lookup.headers())
    answer = ChatReply(completion=completion, usage=result.usage, served=served, charge=charge)
    # Strict durability promises the row is committed before the answer leaves.
    if ctx.answer_first and not accountant.strict:
        answer.finish = record
    else:
        await record()
    return answer


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


async def _cache_lookup(
    gateway: Gateway,
    ctx: RequestContext,
    request: ChatCompletionRequest,
    extras: dict[str, msgspec.Raw] | None,
    principal: Principal | None,
) -> CacheLookup:
    """Step 3: the cache's answer (a miss when the cache is off for this request)."""
    tiers = gateway.cache_settings
    policy = resolve_policy(
        gateway.config.cache,
        customer=tiers.get(("customer", principal.customer_id or "")) if principal else None,
        team=tiers.get(("team", principal.team_id or "")) if principal else None,
        key=tiers.get(("key", principal.key.id)) if principal else None,
        request=ctx.cache_options,
    )
    scope = scope_id(
        policy.scope,
        key_id=principal.key.id if principal else None,
        team_id=principal.team_id if principal else None,
        customer_id=principal.customer_id if principal else None,
    )
    return await gateway.cache.lookup(request, extras, policy, scope)


async def _from_cache(
    gateway: Gateway,
    ctx: RequestContext,
    request: ChatCompletionRequest,
    route: Route,
    principal: Principal | None,
    lookup: CacheLookup,
) -> ChatReply | StreamReply:
    """A reply from a stored answer: it costs nothing and counts only as a request."""
    hit = lookup.hit
    assert hit is not None
    rate_limits = {}
    if principal is not None:
        try:
            rate_limits = await gateway.gate.count_cached(f"{ctx.request_id}:0", principal)
        except GovernError as exc:
            await gateway.accountant.rejected(
                ctx.request_id, request.model, bool(request.stream), exc, route, principal
            )
            raise
    charge = await gateway.accountant.cached(
        request_id=ctx.request_id,
        route=route,
        model_requested=request.model,
        stream=bool(request.stream),
        principal=principal,
        layer=hit.layer,
        saved_nanos=hit.saved_nanos,
    )
    served = Served(route, "cache", 0, 0, rate_limits, lookup.headers())
    if not request.stream:
        return ChatReply(completion=hit.completion, usage=hit.usage, served=served, charge=charge)
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    chunks = completion_to_chunks(hit.completion, hit.usage, include_usage=include_usage)
    if include_usage and chunks and chunks[-1].usage is not None:
        chunks[-1].usage.cost_usd = "0"
    reply = StreamReply(chunks=empty(), served=served, stream=ReplayedStream(chunks))
    reply.charge = charge
    reply.chunks = replay(chunks)
    return reply


def _stream_store(gateway: Gateway, lookup: CacheLookup) -> StreamStore | None:
    """How a finished stream is stored, when the cache applies to the request."""
    if not lookup.enabled:
        return None

    async def store(completion: ChatCompletion, usage: Usage, charge: Charge) -> None:
        await gateway.cache.store(lookup, completion, usage, _nanos(charge))

    return store


def _nanos(charge: Charge) -> int | None:
    return None if charge.cost is None else charge.cost.total


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
