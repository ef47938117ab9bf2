"""The Litestar application."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from govern.errors import GovernError
from govern.gateway import Gateway
from govern.metrics import Metrics
from govern.pipeline import RequestContext, new_request_id
from govern.server import admin_routes, anthropic_routes, docs_routes, log_routes, openai_routes
from govern.server.chat_route import PATH as CHAT_PATH
from govern.server.chat_route import Receive, Send, chat_route
from govern.server.errors import (
    error_headers,
    on_govern_error,
    on_http_error,
    on_unexpected,
    unexpected_error,
)

log = logging.getLogger("govern.server")

_REQUEST_ID = b"x-govern-request-id"


def _on_response_start(metrics: Metrics) -> BeforeMessageSendHookHandler:
    """The hook run before each ASGI message: at the response start it stamps the
    request id and observes the request's overhead (`govern_overhead_seconds`)."""

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        state = scope.setdefault("state", {})
        ctx: RequestContext | None = state.get("govern_ctx")
        if ctx is not None:
            # The same measure as `x-govern-overhead-ms`, a little later: it also counts
            # encoding the body and building the response.
            metrics.overhead.observe(ctx.overhead_ms() / 1000)
        # Routes set the header themselves; this catches everything else (404s, 405s, ...).
        headers = list(message.get("headers", ()))
        if not any(name == _REQUEST_ID for name, _ in headers):
            request_id = state.get("request_id") or new_request_id()
            headers.append((_REQUEST_ID, request_id.encode()))
            message["headers"] = headers

    return before_send


class GatewayApp:
    """The ASGI app the server runs: `POST /v1/chat/completions` straight to its handler,
    everything else (lifespan included) through the Litestar app.

    The chat route is the one every call takes; Litestar's routing, exception middleware
    and send hooks cost about 25 µs of it (docs/benchmarks.md). The same handler is also
    mounted in the Litestar app, which documents it and serves other spellings of the path.
    """

    def __init__(self, gateway: Gateway, *, answer_first: bool = True):
        self.litestar = create_app(gateway)
        self.metrics = gateway.metrics
        handler = chat_route(gateway, answer_first=answer_first)
        self.chat = handler.fn

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHAT_PATH:
            await self.litestar(scope, receive, send)  # type: ignore[arg-type]
            return
        state = scope.setdefault("state", {})
        started = False
        overhead = self.metrics.overhead

        async def observed(message: dict[str, Any]) -> None:
            nonlocal started
            if not started:
                started = True
                ctx: RequestContext | None = state.get("govern_ctx")
                if ctx is not None:
                    overhead.observe(ctx.overhead_ms() / 1000)
            await send(message)

        try:
            await self.chat(scope, receive, observed)
        except Exception as exc:
            request_id = state.get("request_id")
            if isinstance(exc, ConnectionError):  # nobody is left to answer
                log.info("request %s: the client left before its answer ended", request_id)
                return
            if not isinstance(exc, GovernError):
                exc = unexpected_error(exc, CHAT_PATH, request_id)
            if started:  # the answer is under way: nothing more can be said
                log.error("request %s failed after its answer started: %s", request_id, exc)
                return
            body = exc.to_json()
            headers = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in error_headers(exc, request_id).items()
            ]
            headers.append((b"content-type", b"application/json"))
            headers.append((b"content-length", str(len(body)).encode()))
            await observed(
                {"type": "http.response.start", "status": exc.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body, "more_body": False})


def create_app(gateway: Gateway) -> Litestar:
    """A Litestar app serving `gateway`; closes the gateway on shutdown."""

    @get("/health")
    async def health(request: Request[Any, Any, Any]) -> Response[dict[str, object]]:
        return Response({"status": "ok", "providers": gateway.live_providers()})

    @get("/metrics")
    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        return Response(
            gateway.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return Litestar(
        route_handlers=[
            chat_route(gateway),
            *openai_routes.routes(gateway),
            *anthropic_routes.routes(gateway),
            *admin_routes.routes(gateway.admin),
            *log_routes.routes(gateway),
            *docs_routes.routes(gateway),
            health,
            metrics,
        ],
        exception_handlers={
            GovernError: on_govern_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
        before_send=[_on_response_start(gateway.metrics)],
        on_startup=[gateway.start],
        on_shutdown=[gateway.aclose],
        request_max_body_size=gateway.config.server.max_body_bytes,
        openapi_config=None,
        logging_config=None,
    )
