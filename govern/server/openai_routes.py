"""`/v1/*`: the OpenAI-compatible routes (chat completions: `chat_route`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from govern.cache import parse_cache_headers
from govern.errors import GovernError
from govern.gateway import Gateway
from govern.pipeline import RequestContext
from govern.wire.decode import decode_embedding_request

log = logging.getLogger("govern.server")
encode = msgspec.json.Encoder().encode
JSON = "application/json"


async def start(request: Request[Any, Any, Any], gateway: Gateway | None) -> RequestContext:
    """A request context whose id every response of this request will carry, for the
    caller authenticated (when `gateway` is given) by the virtual key it presented
    (`Authorization: Bearer`, `x-govern-key`, or the Anthropic SDK's `x-api-key`),
    before the body is read."""
    ctx = RequestContext(api_key=presented_key(request.headers))
    state = request.scope["state"]
    state["request_id"] = ctx.request_id
    state["govern_ctx"] = ctx  # the app observes its overhead when the response starts
    if gateway is not None:
        await admit(ctx, gateway, request.headers)
    return ctx


async def admit(ctx: RequestContext, gateway: Gateway, headers: Mapping[str, str]) -> None:
    """Resolve the caller's virtual key (401/403 for unknown, inactive, expired keys; the
    refusal is logged) and read its per-request options (`x-govern-cache*`: 400 naming a
    bad header)."""
    try:
        ctx.principal = gateway.gate.authenticate(ctx.api_key)
    except GovernError as exc:
        await gateway.accountant.rejected(ctx.request_id, "", False, exc)
        raise
    ctx.authenticated = True
    ctx.cache_options = parse_cache_headers(headers)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The virtual key in the request headers, if any."""
    key = headers.get("x-govern-key")
    if key:
        return key.strip()
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = headers.get("x-api-key")
    return key.strip() if key else None


def routes(gateway: Gateway) -> list[HTTPRouteHandler]:
    """The `/v1` route handlers bound to `gateway`."""

    @post("/v1/embeddings", status_code=200)
    async def embeddings(request: Request[Any, Any, Any]) -> Response[bytes]:
        ctx = await start(request, gateway)
        body = decode_embedding_request(await request.body())
        reply = await gateway.embeddings(body, ctx)
        headers = reply.headers(ctx)
        return Response(encode(reply.result.response), media_type=JSON, headers=headers)

    @get("/v1/models")
    async def models(request: Request[Any, Any, Any]) -> Response[bytes]:
        ctx = await start(request, gateway)
        return Response(
            encode(gateway.models(ctx.principal)),
            media_type=JSON,
            headers={"x-govern-request-id": ctx.request_id},
        )

    return [embeddings, models]
