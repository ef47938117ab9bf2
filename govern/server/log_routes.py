"""`/api/logs`, `/api/spend` (the request log, as pages) and `/api/cache` (stats, clear),
behind the admin key."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler

from govern.cache import CacheStats
from govern.errors import GovernError, InvalidRequest
from govern.gateway import Gateway
from govern.governance.keys import key_from_headers
from govern.logs.pages import LogPage, SpendPage, log_page, spend_page
from govern.logs.sql import FILTER_COLUMNS
from govern.server.openapi import Operation

encode = msgspec.json.Encoder().encode
_PAGING = {"limit", "cursor", "since", "until", "group_by", "freq"}


class LogUnavailable(GovernError):
    """The request log is not open (the gateway is starting or stopping)."""

    status = 503
    type = "service_unavailable"


def _query(
    request: Request[Any, Any, Any], allowed: set[str], *, filters: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Paging arguments and column filters from the query string (400 naming the field)."""
    args: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    for name, values in request.query_params.dict().items():
        value = values[-1] if isinstance(values, list) else values
        if name in allowed:
            args[name] = value
        elif filters and name in FILTER_COLUMNS:
            columns[name] = values if isinstance(values, list) and len(values) > 1 else value
        else:
            raise InvalidRequest(
                f"unknown query parameter {name!r}; expected one of "
                f"{', '.join(sorted(allowed))} or a column filter "
                f"({', '.join(FILTER_COLUMNS)})",
                param=name,
            )
    if "limit" in args:
        try:
            args["limit"] = int(args["limit"])
        except ValueError:
            raise InvalidRequest("`limit` must be an integer", param="limit") from None
    return args, columns


def routes(gateway: Gateway) -> list[HTTPRouteHandler]:
    """The request-log routes bound to `gateway`."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        headers = connection.headers
        gateway.admin.check_admin_key(
            headers.get("x-govern-admin-key")
            or key_from_headers(headers.get("authorization"), None)
        )

    def store() -> Any:
        if gateway.log is None:
            raise LogUnavailable("the request log is not open")
        return gateway.log.store

    @get(
        "/api/logs",
        guards=[guard],
        opt={
            "openapi": Operation(
                summary="Logged requests, newest first",
                description="One row per upstream attempt or rejected request. Filter on any "
                "column (`?provider=openai&status=429`); `since`/`until` take ISO 8601 times; "
                "pass `next_cursor` as `cursor` for the next page.",
                tag="Request log",
                response=LogPage,
                errors=(400, 401, 403, 503),
            )
        },
    )
    async def logs(request: Request[Any, Any, Any]) -> Response[bytes]:
        args, filters = _query(request, {"limit", "cursor", "since", "until"})
        page = await log_page(store(), filters=filters, **args)
        return Response(encode(page), media_type="application/json")

    @get(
        "/api/spend",
        guards=[guard],
        opt={
            "openapi": Operation(
                summary="Spend per group and period",
                description="Cost (exact decimal dollars), tokens, requests and errors per "
                "`group_by` (comma-separated columns) and `freq` period (`1h`, `1D`), with "
                "the gateway cache's hits, hit ratio and what the hits saved.",
                tag="Request log",
                response=SpendPage,
                errors=(400, 401, 403, 503),
            )
        },
    )
    async def spend(request: Request[Any, Any, Any]) -> Response[bytes]:
        args, filters = _query(request, _PAGING)
        page = await spend_page(store(), filters=filters, **args)
        return Response(encode(page), media_type="application/json")

    @get(
        "/api/cache",
        guards=[guard],
        opt={
            "openapi": Operation(
                summary="Cache statistics",
                description="Live entries and this process's hit, miss and store counters "
                "since start: of every scope, or of one `scope` such as `key:nb`.",
                tag="Cache",
                response=CacheStats,
                errors=(401, 403),
            )
        },
    )
    async def cache_stats(request: Request[Any, Any, Any]) -> Response[bytes]:
        args, _ = _query(request, {"scope"}, filters=False)
        stats = await gateway.cache.stats(args.get("scope"))
        return Response(encode(stats), media_type="application/json")

    @delete(
        "/api/cache",
        guards=[guard],
        status_code=200,
        opt={
            "openapi": Operation(
                summary="Clear the cache",
                description="Delete every entry, or those of one `scope` (`key:<id>`, "
                "`team:<id>`, `customer:<id>`, `global`, `anonymous`).",
                tag="Cache",
                response=ClearedCache,
                errors=(401, 403),
            )
        },
    )
    async def cache_clear(request: Request[Any, Any, Any]) -> Response[bytes]:
        args, _ = _query(request, {"scope"}, filters=False)
        removed = await gateway.cache.clear(args.get("scope"))
        return Response(encode(ClearedCache(removed=removed)), media_type="application/json")

    return [logs, spend, cache_stats, cache_clear]


class ClearedCache(msgspec.Struct, kw_only=True):
    """The answer of `DELETE /api/cache`."""

    removed: int
    """Entries deleted."""
