"""The Litestar application."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException
from litestar.types import Message, Scope

from govern.errors import GovernError
from govern.gateway import Gateway
from govern.pipeline import new_request_id
from govern.server import anthropic_routes, openai_routes
from govern.server.errors import on_govern_error, on_http_error, on_unexpected

_REQUEST_ID = b"x-govern-request-id"


async def _stamp_request_id(message: Message, scope: Scope) -> None:
    # Routes set the header themselves; this catches everything else (404s, 405s, ...).
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", ()))
    if not any(name == _REQUEST_ID for name, _ in headers):
        state = scope.setdefault("state", {})
        request_id = state.get("request_id") or new_request_id()
        headers.append((_REQUEST_ID, request_id.encode()))
        message["headers"] = headers


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
            *openai_routes.routes(gateway),
            *anthropic_routes.routes(gateway),
            health,
            metrics,
        ],
        exception_handlers={
            GovernError: on_govern_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
        before_send=[_stamp_request_id],
        on_startup=[gateway.start],
        on_shutdown=[gateway.aclose],
        request_max_body_size=gateway.config.server.max_body_bytes,
        openapi_config=None,
        logging_config=None,
    )
