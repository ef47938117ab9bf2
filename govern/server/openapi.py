"""The OpenAPI 3.1 document of a running app, built from its routes and the wire Structs.

The routes read raw bodies and decode them with msgspec (for speed), so Litestar cannot
infer a schema from their signatures. Instead each route is described by an `Operation`:
the existing routes in `OPERATIONS` below; a new route may carry its own as
`@get(..., opt={"openapi": Operation(...)})`. A route with neither is listed as
undocumented, and a test fails on it, so the document cannot silently miss a route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar import Litestar
from litestar.handlers import ASGIRouteHandler, HTTPRouteHandler
from litestar.routes import ASGIRoute, HTTPRoute

from govern import __version__
from govern.server.jsonschema import Schema, SchemaBuilder
from govern.wire import anthropic as anthropic_wire
from govern.wire import anthropic_errors
from govern.wire import openai as openai_wire

ErrorShape = Literal["openai", "anthropic", "none"]

COMMON_HEADERS: dict[str, str] = {
    "x-govern-request-id": "The request's id (`req_` + 24 hex digits: 12 of the time in "
    "milliseconds, so ids sort by time, and 12 random), on every response; the request "
    "log's rows carry it too.",
}
CALL_HEADERS: dict[str, str] = {
    "x-govern-provider": "The provider that served the call.",
    "x-govern-model": "`provider/model` that served it (a fallback's, if one was used).",
    "x-govern-attempts": "Upstream attempts made, retries and fallbacks included.",
    "x-govern-fallback-index": "0 for the requested model, i for `fallbacks[i-1]`.",
    "x-govern-cost-usd": "The call's exact cost in US dollars (a plain decimal). Absent on a "
    "stream: its cost is in the final usage chunk (`usage.cost_usd`, if the client asked "
    "for usage) and in a final SSE comment `: x-govern-cost-usd: ...`.",
    "x-govern-unpriced": "`true` when the model has no price (the call is logged unpriced, "
    "never as $0).",
    "x-govern-overhead-ms": "Milliseconds spent in the gateway itself, upstream excluded.",
}
ERROR_STATUS_TEXT: dict[int, str] = {
    400: "The request is invalid; the error names the field.",
    401: "No key, or a key the gateway does not know.",
    403: "The key may not do this.",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "The body is over `server.max_body_bytes`.",
    429: "Rate-limited (`Retry-After` says when to retry).",
    500: "A bug in the gateway; the message carries the request id, never a traceback.",
    502: "The upstream is unreachable, or failed with 5xx after retries and fallbacks.",
    503: "A service the gateway depends on is unavailable.",
    504: "The last upstream attempt timed out.",
}
"""What each error status means, unless an `Operation` says more in `error_descriptions`."""
UPSTREAM_ERROR_TEXT: dict[int, str] = {
    400: "The body is not JSON, or breaks the schema or a range rule (the error names the "
    "field); or the upstream refused the request (its 4xx passes through).",
    404: "No provider serves the model (`code: model_not_found`).",
    429: "The upstream rate-limited every attempt (`Retry-After` when it gave one).",
}
UPSTREAM_ERRORS = (400, 404, 413, 429, 500, 502, 504)


@dataclass(frozen=True, slots=True)
class Operation:
    """How one route appears in the OpenAPI document."""

    summary: str
    description: str = ""
    tag: str = "Operations"
    request: Any = None
    """The request body's type (a wire Struct), if the route takes a JSON body."""
    response: Any = None
    """The 200 JSON body's type; None with `media_type` set for non-JSON answers."""
    media_type: str = "application/json"
    stream: Any = None
    """The type of each SSE `data:` event when the request asks for `stream: true`."""
    errors: tuple[int, ...] = (500,)
    error_shape: ErrorShape = "openai"
    headers: tuple[str, ...] = ()
    """Response headers (names from `CALL_HEADERS`) besides `x-govern-request-id`."""
    extra_schema: Schema = field(default_factory=dict)
    """An inline response schema, for small answers with no wire Struct."""
    error_descriptions: dict[int, str] = field(default_factory=dict)
    """What an error status means for this route, where `ERROR_STATUS_TEXT` is too vague."""


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/v1/chat/completions"): Operation(
        summary="Create a chat completion (OpenAI Chat Completions)",
        description="Routed by `model` (`provider/model`, or a bare name a provider lists). "
        "`fallbacks` (the gateway's own field) lists models tried in order when the primary "
        "fails with a retryable error. Fields the gateway does not model are passed to "
        "OpenAI-compatible upstreams and dropped for Anthropic and Bedrock. With "
        "`stream: true` the answer is `text/event-stream`: one `data:` event per chunk, "
        'then `data: [DONE]`; a failure midway ends it with one `data: {"error": ...}` '
        "event instead.",
        tag="OpenAI-compatible",
        request=openai_wire.ChatCompletionRequest,
        response=openai_wire.ChatCompletion,
        stream=openai_wire.ChatCompletionChunk,
        errors=UPSTREAM_ERRORS,
        error_descriptions=UPSTREAM_ERROR_TEXT,
        headers=tuple(CALL_HEADERS),
    ),
    ("POST", "/v1/embeddings"): Operation(
        summary="Create embeddings (OpenAI Embeddings)",
        description="Offered by OpenAI-compatible providers and `sim`; Anthropic and "
        "Bedrock answer 400.",
        tag="OpenAI-compatible",
        request=openai_wire.EmbeddingRequest,
        response=openai_wire.EmbeddingResponse,
        errors=UPSTREAM_ERRORS,
        error_descriptions=UPSTREAM_ERROR_TEXT,
        headers=tuple(CALL_HEADERS),
    ),
    ("GET", "/v1/models"): Operation(
        summary="List the models callers may use",
        description="Every `provider/model` the configuration offers.",
        tag="OpenAI-compatible",
        response=openai_wire.ModelList,
    ),
    ("POST", "/anthropic/v1/messages"): Operation(
        summary="Create a message (Anthropic Messages API)",
        description="For Anthropic SDK users (`base_url` = the gateway's `/anthropic`). The "
        "request runs through the same pipeline as a chat completion, so any model works "
        "(`anthropic/...`, `openai/...`, `bedrock/...`, `sim/...`). Errors have Anthropic's "
        "shape. With `stream: true` the answer is Anthropic's SSE event stream.",
        tag="Anthropic-compatible",
        request=anthropic_wire.MessagesRequest,
        response=anthropic_wire.Message,
        stream=anthropic_wire.StreamEvent,
        errors=UPSTREAM_ERRORS,
        error_descriptions=UPSTREAM_ERROR_TEXT,
        error_shape="anthropic",
        headers=tuple(CALL_HEADERS),
    ),
    ("GET", "/health"): Operation(
        summary="Liveness, and the live providers",
        extra_schema={
            "type": "object",
            "properties": {
                "status": {"const": "ok"},
                "providers": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["status", "providers"],
        },
    ),
    ("GET", "/metrics"): Operation(
        summary="Prometheus metrics",
        description="The Prometheus text exposition format; see the metrics reference.",
        media_type="text/plain; version=0.0.4",
        extra_schema={"type": "string"},
    ),
    ("GET", "/openapi.json"): Operation(
        summary="This document",
        extra_schema={"type": "object"},
    ),
}

TAGS: dict[str, str] = {
    "OpenAI-compatible": "Point an OpenAI SDK at `/v1`.",
    "Anthropic-compatible": "Point an Anthropic SDK at `/anthropic`.",
    "Management": "The management API, with the admin key.",
    "Operations": "Health, metrics and this document.",
}
"""Operation tags in the order the documentation shows them."""

_PATH_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
_PARAM_TYPES = {"int": "integer", "float": "number", "uuid": "string", "str": "string"}


Handler = HTTPRouteHandler | ASGIRouteHandler
"""A documented route: an HTTP route, or a raw ASGI one naming its `opt["methods"]`."""


def operation_for(handler: Handler, method: str, path: str) -> Operation | None:
    """The route's own `opt["openapi"]`, else the `OPERATIONS` entry, else its summary."""
    own = handler.opt.get("openapi")
    if isinstance(own, Operation):
        return own
    known = OPERATIONS.get((method, path))
    if known is not None:
        return known
    summary = getattr(handler, "summary", None)
    if summary:
        return Operation(summary=summary, description=getattr(handler, "description", "") or "")
    return None


def _handlers(route: object) -> list[tuple[Handler, list[str]]]:
    """The route's handlers, each with the methods it serves."""
    if isinstance(route, HTTPRoute):
        return [(h, sorted(h.http_methods)) for h in route.route_handlers]
    if isinstance(route, ASGIRoute):
        handler = route.route_handler
        return [(handler, sorted(handler.opt.get("methods", ("GET",))))]
    return []


def openapi_document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`'s routes."""
    builder = SchemaBuilder(
        {anthropic_wire.__name__: "Anthropic", anthropic_errors.__name__: "Anthropic"}
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(app.routes, key=lambda r: r.path):
        path = _PATH_PARAM.sub(r"{\1}", route.path)
        for handler, methods in _handlers(route):
            if not getattr(handler, "include_in_schema", True):
                continue
            for method in methods:
                if method in ("OPTIONS", "HEAD"):
                    continue
                op = operation_for(handler, method, path)
                paths.setdefault(path, {})[method.lower()] = (
                    _undocumented(handler)
                    if op is None
                    else _operation(builder, op, handler, route.path)
                )
    headers = {**COMMON_HEADERS, **CALL_HEADERS}
    used_tags = {
        op["tags"][0] for methods in paths.values() for op in methods.values() if "tags" in op
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "govern",
            "version": __version__,
            "description": "An LLM gateway: the OpenAI API (and Anthropic's Messages API) in "
            "front of OpenAI-compatible services, Anthropic, AWS Bedrock and a simulated "
            "provider, every call priced and logged.",
        },
        "tags": [
            {"name": name, "description": TAGS.get(name, "")}
            for name in sorted(used_tags, key=lambda t: list(TAGS).index(t) if t in TAGS else 99)
        ],
        "paths": paths,
        "components": {
            # The gateway's own (OpenAI) shapes first, then the Anthropic ones.
            "schemas": dict(
                sorted(builder.components.items(), key=lambda kv: (kv[0][:9] == "Anthropic", kv[0]))
            ),
            "headers": {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in headers.items()
            },
        },
    }


def _operation(
    builder: SchemaBuilder, op: Operation, handler: Handler, litestar_path: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": handler.handler_name,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        out["description"] = op.description
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": _PARAM_TYPES.get(kind or "str", "string")},
        }
        for name, kind in _PATH_PARAM.findall(litestar_path)
    ]
    if parameters:
        out["parameters"] = parameters
    if op.request is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": builder.ref(op.request)}},
        }
    content: dict[str, Any] = {}
    if op.response is not None:
        content[op.media_type] = {"schema": builder.ref(op.response)}
    elif op.extra_schema:
        content[op.media_type] = {"schema": op.extra_schema}
    if op.stream is not None:
        content["text/event-stream"] = {
            "schema": {
                "type": "string",
                "description": "Server-sent events; each `data:` line holds one of these "
                "(as JSON):",
                "contentSchema": builder.ref(op.stream),
                "contentMediaType": "application/json",
            }
        }
    names = ("x-govern-request-id", *op.headers)
    headers = {name: {"$ref": f"#/components/headers/{name}"} for name in names}
    responses: dict[str, Any] = {"200": {"description": "OK", "headers": headers}}
    if content:
        responses["200"]["content"] = content
    error_type = (
        anthropic_wire.ErrorResponse if op.error_shape == "anthropic" else openai_wire.ErrorResponse
    )
    for status in op.errors:
        response: dict[str, Any] = {
            "description": op.error_descriptions.get(status)
            or ERROR_STATUS_TEXT.get(status, "Error."),
            "headers": {"x-govern-request-id": headers["x-govern-request-id"]},
        }
        if op.error_shape != "none":
            response["content"] = {"application/json": {"schema": builder.ref(error_type)}}
        responses[str(status)] = response
    out["responses"] = responses
    return out


def _undocumented(handler: Handler) -> dict[str, Any]:
    return {
        "operationId": handler.handler_name,
        "summary": "(undocumented)",
        "x-govern-undocumented": True,
        "responses": {"200": {"description": "OK"}},
    }
