"""Every failure becomes an OpenAI-shaped error body; no traceback reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from govern.errors import GovernError

log = logging.getLogger("govern.server")

_HTTP_TYPES = {
    400: "invalid_request_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
}


class MethodNotAllowed(GovernError):
    """A method the route does not serve (raw ASGI routes check it themselves)."""

    status = 405
    type = "invalid_request_error"

    def __init__(self, method: str, path: str, *, allow: str):
        super().__init__(f"method {method} is not allowed on {path}")
        self.allow = allow

    def headers(self) -> dict[str, str]:
        """The error's headers, with `Allow` naming the methods the route serves."""
        return {**super().headers(), "allow": self.allow}


def error_headers(exc: GovernError, request_id: str | None) -> dict[str, str]:
    """The headers of a gateway error's response."""
    headers = exc.headers()
    if request_id:
        headers["x-govern-request-id"] = request_id
    return headers


def unexpected_error(exc: Exception, path: str, request_id: str | None) -> GovernError:
    """Log an unexpected exception's traceback; the plain 500 to answer instead."""
    log.error("unexpected error handling %s (request %s)", path, request_id, exc_info=exc)
    return GovernError(
        f"internal error in the gateway (request {request_id}); the server log has details"
    )


def error_response(exc: GovernError, request_id: str | None = None) -> Response[bytes]:
    """The HTTP response for a gateway error."""
    headers = error_headers(exc, request_id)
    return Response(
        content=exc.to_json(),
        status_code=exc.status,
        media_type="application/json",
        headers=headers,
    )


def on_govern_error(request: Request[Any, Any, Any], exc: GovernError) -> Response[bytes]:
    """Exception handler for GovernError."""
    return error_response(exc, request.scope["state"].get("request_id"))


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Exception handler for Litestar's own HTTP errors (unknown route, 405, 413)."""
    status = exc.status_code
    if status == 404:
        message = f"no route {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    elif status == 413:
        limit = request.route_handler.resolve_request_max_body_size()
        message = f"request body is larger than the limit of {limit} bytes"
    else:
        message = exc.detail
    error = GovernError(message)
    error.status = status
    error.type = _HTTP_TYPES.get(status, "server_error" if status >= 500 else "invalid_request")
    return on_govern_error(request, error)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Exception handler of last resort: log the traceback, answer a plain 500."""
    request_id = request.scope["state"].get("request_id")
    return error_response(unexpected_error(exc, request.url.path, request_id), request_id)
