"""`/v1/*`: the OpenAI-compatible routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse

from govern.cache import parse_cache_headers
from govern.errors import GovernError
from govern.gateway import Gateway
from govern.pipeline import ChatReply, RequestContext, StreamReply
from govern.sse import DONE, encode_data
from govern.wire.decode import decode_chat_request, decode_embedding_request

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


async def sse_body(reply: StreamReply) -> AsyncIterator[bytes]:
    """The SSE body of a chat stream; a failure midway ends it with an error event.

    Events that arrived from the upstream in one read leave in one write: each write to
    the client costs a trip through Litestar, uvicorn and a syscall, and a fast upstream
    delivers many events at once. Events that arrive apart are sent apart, so no event
    waits for another.
    """
    stream = reply.stream
    parts: list[bytes] = []
    try:
        # aclosing: a client that disconnects closes this generator; the relay must be
        # closed too, at once, so the attempt is recorded and the upstream released.
        async with aclosing(reply.chunks) as chunks:
            async for chunk in chunks:
                parts.append(encode_data(encode(chunk)))
                # `ready`: more chunks already decoded (OpenAIStream); `charge` set: the
                # stream has ended and this is the usage chunk, which leaves with the end.
                if not getattr(stream, "ready", 0) and reply.charge is None:
                    yield b"".join(parts)
                    parts.clear()
    except GovernError as exc:
        log.info("stream failed midway: %s", exc.message)
        yield b"".join(parts) + encode_data(exc.to_json())
        return
    except Exception:
        log.exception("stream failed midway")
        error = GovernError("internal error in the gateway mid-stream").to_json()
        yield b"".join(parts) + encode_data(error)
        return
    parts.append(cost_comment(reply))
    parts.append(DONE)
    yield b"".join(parts)


def cost_comment(reply: StreamReply) -> bytes:
    """A final SSE comment with the stream's cost (clients ignore comments)."""
    header = reply.charge.header if reply.charge is not None else None
    return f": x-govern-cost-usd: {header or 'unpriced'}\n\n".encode()


def routes(gateway: Gateway) -> list[HTTPRouteHandler]:
    """The `/v1` route handlers bound to `gateway`."""

    @post("/v1/chat/completions", status_code=200)
    async def chat_completions(request: Request[Any, Any, Any]) -> ASGIResponse:
        # ASGI responses, not Response/Stream: Litestar sends them as they are instead of
        # converting them, about 90 µs less per request (docs/benchmarks.md).
        ctx = await start(request, gateway)
        chat, extras = decode_chat_request(await request.body())
        reply = await gateway.chat(chat, extras, ctx)
        headers = reply.headers(ctx)
        if isinstance(reply, ChatReply):
            return ASGIResponse(body=encode(reply.completion), media_type=JSON, headers=headers)
        headers["cache-control"] = "no-cache"
        return ASGIStreamingResponse(
            iterator=sse_body(reply), media_type="text/event-stream", headers=headers
        )

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

    return [chat_completions, embeddings, models]
