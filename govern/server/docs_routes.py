"""`GET /openapi.json`: the OpenAPI 3.1 document of the app serving it."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from govern.gateway import Gateway
from govern.server.openapi import openapi_document


def routes(gateway: Gateway) -> list[HTTPRouteHandler]:
    """The documentation route handlers (the document is built on first request)."""
    built: list[bytes] = []

    @get("/openapi.json")
    async def openapi(request: Request[Any, Any, Any]) -> Response[bytes]:
        if not built:
            built.append(msgspec.json.encode(openapi_document(request.app)))
        return Response(built[0], media_type="application/json")

    return [openapi]
