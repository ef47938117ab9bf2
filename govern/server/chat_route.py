"""`POST /v1/chat/completions` as a raw ASGI route: the gateway's hot path.

Litestar still routes the request, runs the exception handlers and the before-send hook,
but the handler reads the body and writes the answer itself: no signature model, request
object or response conversion, about 100 µs less per call (docs/benchmarks.md). Errors
raised before the answer starts go through the app's exception handlers like any route's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import msgspec
from litestar.handlers import ASGIRouteHandler, asgi

from govern.cache.policy import MODE_HEADER, NO_STORE_HEADER, THRESHOLD_HEADER, TTL_HEADER
from govern.errors import GovernError, PayloadTooLarge
from govern.gateway import Gateway
from govern.pipeline import ChatReply, RequestContext, StreamReply
from govern.server.errors import MethodNotAllowed
from govern.server.openai_routes import admit, presented_key
from govern.sse import DONE, encode_data
from govern.wire.decode import decode_chat_request

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("govern.server")
encode = msgspec.json.Encoder().encode

PATH = "/v1/chat/completions"
_READ = frozenset(
    name.encode()
    for name in (
        "authorization",
        "content-length",
        "x-govern-key",
        "x-api-key",
        MODE_HEADER,
        TTL_HEADER,
        THRESHOLD_HEADER,
        NO_STORE_HEADER,
    )
)
_JSON = (b"content-type", b"application/json")
_SSE = (b"content-type", b"text/event-stream; charset=utf-8")
_NO_CACHE = (b"cache-control", b"no-cache")


class ClientGone(Exception):
    """The client closed the connection before its request body arrived."""


def chat_route(gateway: Gateway, *, answer_first: bool = True) -> ASGIRouteHandler:
    """The chat completions route bound to `gateway`; `answer_first`: send a finished
    answer before recording it (see `RequestContext.answer_first`)."""
    limit = gateway.config.server.max_body_bytes

    @asgi(PATH, copy_scope=False, opt={"methods": ("POST",)})
    async def chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
        headers = read_headers(scope)
        ctx = RequestContext(api_key=presented_key(headers), answer_first=answer_first)
        state = scope["state"]
        state["request_id"] = ctx.request_id
        state["govern_ctx"] = ctx  # the app observes its overhead when the answer starts
        if scope["method"] != "POST":
            if scope["method"] == "OPTIONS":  # as Litestar answers it on every route
                await send(_options(ctx.request_id))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            raise MethodNotAllowed(scope["method"], PATH, allow="OPTIONS, POST")
        await admit(ctx, gateway, headers)
        try:
            body = await read_body(receive, limit, headers.get("content-length"))
        except ClientGone:
            return
        chat, extras = decode_chat_request(body)
        reply = await gateway.chat(chat, extras, ctx)
        if isinstance(reply, ChatReply):
            try:
                content = encode(reply.completion)
                await send(_start(reply.headers(ctx), _JSON, len(content)))
                await send({"type": "http.response.body", "body": content, "more_body": False})
            finally:
                if reply.finish is not None:
                    await reply.finish()
        else:
            try:
                await send(_start(reply.headers(ctx), _SSE, None, _NO_CACHE))
            except BaseException:
                if reply.abandon is not None:  # the relay never started: close it here
                    await reply.abandon()
                raise
            await send_stream(reply, receive, send)

    return chat_completions


def read_headers(scope: Scope) -> dict[str, str]:
    """The request headers the gateway reads (first value of each), decoded."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in _READ:
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


async def read_body(receive: Receive, limit: int, declared: str | None = None) -> bytes:
    """The whole request body: 413 beyond `limit` bytes (at once when `Content-Length`
    says so, before any `100 Continue`); ClientGone if the client left."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")
        parts.append(part)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


def _start(
    headers: dict[str, str],
    content_type: tuple[bytes, bytes],
    length: int | None,
    *extra: tuple[bytes, bytes],
) -> Message:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    raw.append(content_type)
    raw.extend(extra)
    if length is not None:
        raw.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": 200, "headers": raw}


def _options(request_id: str) -> Message:
    headers = [(b"allow", b"OPTIONS, POST"), (b"x-govern-request-id", request_id.encode())]
    return {"type": "http.response.start", "status": 204, "headers": headers}


async def send_stream(reply: StreamReply, receive: Receive, send: Send) -> None:
    """Send the SSE body of a chat stream; a client that disconnects stops it at once.

    The disconnect is watched by a task that cancels this one, so the relay is closed
    (and the attempt charged and recorded) even while it waits for the upstream.
    """
    task = asyncio.current_task()
    assert task is not None
    gone = False
    sending = True

    def on_receive(done: asyncio.Future[Message]) -> None:
        nonlocal gone
        if sending and not done.cancelled() and done.result()["type"] == "http.disconnect":
            gone = True
            task.cancel()

    watcher: asyncio.Future[Message] = asyncio.ensure_future(receive())
    watcher.add_done_callback(on_receive)
    try:
        async with aclosing(sse_parts(reply)) as parts:
            async for body, more in parts:
                if not more:
                    sending = False  # the last write ends the response: not a disconnect
                await send({"type": "http.response.body", "body": body, "more_body": more})
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()
    finally:
        sending = False
        watcher.cancel()


async def sse_parts(reply: StreamReply) -> AsyncGenerator[tuple[bytes, bool], None]:
    """The SSE body of a chat stream as (bytes, more to come); a failure midway ends it
    with an error event.

    Events that arrived from the upstream in one read leave in one write: each write to
    the client costs a trip through uvicorn and a syscall, and a fast upstream delivers
    many events at once. Events that arrive apart are sent apart, so no event waits for
    another. The last write carries the cost comment and `[DONE]`.
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
                    yield b"".join(parts), True
                    parts.clear()
    except GovernError as exc:
        log.info("stream failed midway: %s", exc.message)
        yield b"".join(parts) + encode_data(exc.to_json()), False
        return
    except Exception:
        log.exception("stream failed midway")
        error = GovernError("internal error in the gateway mid-stream").to_json()
        yield b"".join(parts) + encode_data(error), False
        return
    parts.append(cost_comment(reply))
    parts.append(DONE)
    yield b"".join(parts), False


def cost_comment(reply: StreamReply) -> bytes:
    """A final SSE comment with the stream's cost (clients ignore comments)."""
    header = reply.charge.header if reply.charge is not None else None
    return f": x-govern-cost-usd: {header or 'unpriced'}\n\n".encode()
