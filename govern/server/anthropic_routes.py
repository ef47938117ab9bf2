"""`POST /anthropic/v1/messages`: the Anthropic Messages API, for Anthropic SDK users.

Requests are translated to the gateway's OpenAI shape and run through the same pipeline;
answers and errors are translated back, so errors here have Anthropic's shape.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from litestar import Request, Response, post
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from govern.errors import GovernError, PayloadTooLarge
from govern.gateway import Gateway
from govern.inbound.anthropic import (
    decode_request,
    error_body,
    to_anthropic_message,
    to_openai_request,
)
from govern.inbound.anthropic_stream import anthropic_sse
from govern.pipeline import ChatReply
from govern.server.openai_routes import JSON, admit, encode, start


async def _closing(
    body: AsyncIterator[bytes], relay: AsyncGenerator[Any, None]
) -> AsyncIterator[bytes]:
    """`body`, closing the pipeline's relay as soon as the client goes away."""
    async with aclosing(relay):
        async for part in body:
            yield part


def routes(gateway: Gateway) -> list[HTTPRouteHandler]:
    """The Anthropic-compatible route handlers bound to `gateway`."""

    @post("/anthropic/v1/messages", status_code=200)
    async def messages(request: Request[Any, Any, Any]) -> Response[Any]:
        ctx = await start(request, None)
        try:
            await admit(ctx, gateway, request.headers)
            try:
                body = await request.body()
            except HTTPException as exc:
                if exc.status_code != 413:
                    raise
                limit = gateway.config.server.max_body_bytes
                raise PayloadTooLarge(
                    f"request body is larger than the limit of {limit} bytes"
                ) from None
            anthropic_request = decode_request(body)
            reply = await gateway.chat(to_openai_request(anthropic_request), None, ctx)
        except GovernError as exc:
            return Response(
                error_body(exc, ctx.request_id),
                status_code=exc.status,
                media_type=JSON,
                headers={"x-govern-request-id": ctx.request_id, **exc.headers()},
            )
        headers = reply.headers(ctx)
        model = anthropic_request.model
        if isinstance(reply, ChatReply):
            message = to_anthropic_message(reply.completion, reply.usage, model=model)
            return Response(encode(message), media_type=JSON, headers=headers)
        headers["cache-control"] = "no-cache"
        stream = reply.stream
        return Stream(
            _closing(
                anthropic_sse(reply.chunks, model=model, usage=lambda: stream.usage), reply.chunks
            ),
            media_type="text/event-stream",
            headers=headers,
        )

    return [messages]
