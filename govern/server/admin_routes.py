"""`/api/*`: the management API, guarded by the admin key (`GET /api/keys/self` by a
virtual key). Thin: each route decodes its body once and calls `Admin`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.types import Guard

from govern.governance import api
from govern.governance.admin import Admin, invalid_body
from govern.governance.keys import key_from_headers
from govern.server.openapi import Operation

B = TypeVar("B", bound=msgspec.Struct)
encode = msgspec.json.Encoder().encode
JSON = "application/json"
TAG = "Management"
_ADMIN_ERRORS = (400, 401, 403, 404, 409, 500)


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(encode(value), status_code=status, media_type=JSON)


async def _body(request: Request[Any, Any, Any], cls: type[B]) -> B:
    raw = await request.body()
    try:
        return msgspec.json.decode(raw or b"{}", type=cls)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise invalid_body(exc) from None


def _id(request: Request[Any, Any, Any]) -> str:
    # From the path, not the signature: Litestar deprecates inferred path parameters.
    return str(request.path_params["item_id"])


def _op(summary: str, request: Any = None, response: Any = None, description: str = "") -> Any:
    return {
        "openapi": Operation(
            summary=summary,
            description=description,
            tag=TAG,
            request=request,
            response=response,
            errors=_ADMIN_ERRORS,
        )
    }


def routes(admin: Admin) -> list[HTTPRouteHandler]:
    """The `/api` route handlers bound to `admin`."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        headers = connection.headers
        admin.check_admin_key(
            headers.get("x-govern-admin-key")
            or key_from_headers(headers.get("authorization"), None)
        )

    guards: list[Guard] = [guard]
    handlers: list[HTTPRouteHandler] = []

    def crud(
        path: str,
        what: str,
        out: Any,
        create_body: Any,
        update_body: Any,
        listing: Callable[[Request[Any, Any, Any]], Awaitable[Any]],
        one: Callable[[str], Awaitable[Any]],
        create: Callable[[Any], Awaitable[Any]],
        update: Callable[[str, Any], Awaitable[Any]],
        remove: Callable[[str], Awaitable[Any]],
    ) -> None:
        item = f"{path}/{{item_id:str}}"
        slug = what.replace(" ", "_")

        async def list_items(request: Request[Any, Any, Any]) -> Response[bytes]:
            return _json(await listing(request))

        async def create_item(request: Request[Any, Any, Any]) -> Response[bytes]:
            return _json(await create(await _body(request, create_body)), 201)

        async def read_item(request: Request[Any, Any, Any]) -> Response[bytes]:
            return _json(await one(_id(request)))

        async def update_item(request: Request[Any, Any, Any]) -> Response[bytes]:
            return _json(await update(_id(request), await _body(request, update_body)))

        async def delete_item(request: Request[Any, Any, Any]) -> Response[bytes]:
            return _json(await remove(_id(request)))

        # Distinct function names: they are the OpenAPI operation ids.
        for fn, verb in (
            (list_items, f"list_{slug}s"),
            (create_item, f"create_{slug}"),
            (read_item, f"read_{slug}"),
            (update_item, f"update_{slug}"),
            (delete_item, f"delete_{slug}"),
        ):
            fn.__name__ = fn.__qualname__ = verb
        handlers.extend(
            [
                get(path, opt=_op(f"List {what}s", response=list[out]), guards=guards)(list_items),
                post(
                    path,
                    status_code=201,
                    opt=_op(f"Create a {what}", create_body, out),
                    guards=guards,
                )(create_item),
                get(item, opt=_op(f"Read a {what}", response=out), guards=guards)(read_item),
                patch(item, opt=_op(f"Change a {what}", update_body, out), guards=guards)(
                    update_item
                ),
                delete(
                    item,
                    status_code=200,
                    opt=_op(f"Delete a {what}", response=api.Deleted),
                    guards=guards,
                )(delete_item),
            ]
        )

    def q(request: Request[Any, Any, Any], name: str) -> str | None:
        value = request.query_params.get(name)
        return str(value) if value else None

    crud(
        "/api/customers",
        "customer",
        api.CustomerOut,
        api.CustomerCreate,
        api.CustomerUpdate,
        lambda r: admin.customers(),
        admin.customer,
        admin.create_customer,
        admin.update_customer,
        admin.delete_customer,
    )
    crud(
        "/api/teams",
        "team",
        api.TeamOut,
        api.TeamCreate,
        api.TeamUpdate,
        lambda r: admin.teams(customer=q(r, "customer")),
        admin.team,
        admin.create_team,
        admin.update_team,
        admin.delete_team,
    )
    crud(
        "/api/keys",
        "virtual key",
        api.KeyOut,
        api.KeyCreate,
        api.KeyUpdate,
        lambda r: admin.keys(team=q(r, "team"), customer=q(r, "customer")),
        admin.key,
        admin.create_key,
        admin.update_key,
        admin.delete_key,
    )
    crud(
        "/api/budgets",
        "budget",
        api.BudgetOut,
        api.BudgetCreate,
        api.BudgetUpdate,
        lambda r: admin.budgets(owner=q(r, "owner")),
        admin.budget,
        admin.create_budget,
        admin.update_budget,
        admin.delete_budget,
    )
    crud(
        "/api/rate-limits",
        "rate limit",
        api.RateLimitOut,
        api.RateLimitCreate,
        api.RateLimitUpdate,
        lambda r: admin.rate_limits(owner=q(r, "owner")),
        admin.rate_limit,
        admin.create_rate_limit,
        admin.update_rate_limit,
        admin.delete_rate_limit,
    )

    @post(
        "/api/keys/{item_id:str}/rotate",
        status_code=200,
        opt=_op(
            "Give a virtual key a new value",
            response=api.CreatedKey,
            description="The answer holds the new value, shown this once; the old one stops "
            "working at once.",
        ),
        guards=guards,
    )
    async def rotate_key(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _json(await admin.rotate_key(_id(request)))

    @get(
        "/api/keys/self",
        opt=_op(
            "The presenting virtual key, its limits and their use",
            response=api.KeySelf,
            description="Authenticated by the virtual key itself (`Authorization: Bearer` "
            "or `x-govern-key`), not the admin key.",
        ),
    )
    async def key_self(request: Request[Any, Any, Any]) -> Response[bytes]:
        headers = request.headers
        presented = key_from_headers(headers.get("authorization"), headers.get("x-govern-key"))
        return _json(await admin.key_self(presented))

    @get(
        "/api/usage",
        opt=_op(
            "Spend and counts of every limit in its current window",
            response=list[api.EntityUsage],
            description="`?entity=kind:id` (`team:eng`) narrows it to one entity.",
        ),
        guards=guards,
    )
    async def usage(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _json(await admin.usage(q(request, "entity")))

    return [*handlers, rotate_key, key_self, usage]
