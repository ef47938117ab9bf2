"""`Admin`: the management operations, from Python (`Gateway.admin`) or HTTP (`/api/`).

Every method is a coroutine. Create and update methods take their body Struct
(`govern.governance.api`) or the same fields as keywords:

    key = await admin.create_key(team="eng", budgets=[{"max_usd": "20", "reset": "1d"}])
    key.value      # shown once; the gateway keeps only its SHA-256

Errors: 400 `InvalidRequest` naming the field, 404 `EntityNotFound`, 409 `EntityConflict`.
Edits apply to this process at once and to other replicas at their next refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from govern.errors import AuthenticationFailed, InvalidRequest, PermissionDenied
from govern.governance import api, edits
from govern.governance.build import FieldError
from govern.governance.caps import Cap, concurrency_cap
from govern.governance.edits import Context, get
from govern.governance.errors import EntityConflict, EntityNotFound
from govern.governance.keys import same_secret
from govern.governance.model import Entities, EntityRef
from govern.governance.principal import scope_of
from govern.governance.registry import MISSING_KEY, utcnow
from govern.governance.store import Changes, IntegrityProblem
from govern.governance.views import (
    budget_out,
    customer_out,
    entity_usage,
    key_fields,
    key_out,
    rate_limit_out,
    team_out,
)

if TYPE_CHECKING:
    from govern.governance.service import Governance

T = TypeVar("T")
B = TypeVar("B", bound=msgspec.Struct)


def invalid_body(exc: msgspec.ValidationError | msgspec.DecodeError) -> InvalidRequest:
    """A msgspec error as a 400 naming the field (`budgets[0].max_usd`)."""
    text = str(exc)
    message, sep, where = text.rpartition(" - at `$")
    if not sep:
        message, where = text, ""
    path = where.rstrip("`").lstrip(".")
    for marker in ("unknown field `", "missing required field `"):
        if marker in message:
            name = message.split(marker, 1)[1].split("`", 1)[0]
            path = f"{path}.{name}" if path else name
    if not path:
        return InvalidRequest(f"invalid body: {message}")
    return InvalidRequest(f"{path}: {message}", param=path)


def coerce(cls: type[B], body: B | None, fields: dict[str, Any]) -> B:
    """`body`, or a `cls` built from keyword `fields` (checked like a JSON body)."""
    if body is not None:
        if fields:
            raise TypeError("pass a body or keyword fields, not both")
        return body
    try:
        return msgspec.convert(fields, cls)
    except msgspec.ValidationError as exc:
        raise invalid_body(exc) from None


def caps_of(e: Entities, ref: EntityRef) -> tuple[Cap, ...]:
    """An entity's caps (a key's with its concurrency cap)."""
    caps = scope_of(e, ref).caps()
    if ref.kind == "key":
        concurrent = concurrency_cap(e.keys[ref.id])
        if concurrent is not None:
            caps += (concurrent,)
    return caps


class Admin:
    """CRUD for customers, teams, virtual keys, budgets and rate limits; usage."""

    def __init__(self, governance: Governance):
        self._gov = governance

    def check_admin_key(self, presented: str | None) -> None:
        """Raise 401 without an admin key, 403 for a wrong one or when none is configured."""
        expected = self._gov.config.governance.admin_key
        if not expected:
            raise PermissionDenied(
                "the management API is off: set governance.admin_key or GOVERN_ADMIN_KEY",
                code="admin_disabled",
            )
        if presented is None:
            raise AuthenticationFailed(
                "missing admin key: send `Authorization: Bearer <admin key>` or "
                "`x-govern-admin-key: <admin key>`",
                code="missing_admin_key",
            )
        if not same_secret(presented, expected):
            raise PermissionDenied("wrong admin key", code="invalid_admin_key")

    async def _fresh(self) -> Entities:
        await self._gov.refresh()
        return self._gov.entities

    async def _edit(
        self, decide: Callable[[Entities, Context], tuple[Changes, T]]
    ) -> tuple[Entities, T]:
        store = await self._gov.store()
        ctx = Context(now=utcnow(self._gov.clock), providers=self._gov.config.providers)
        try:
            after, result = await asyncio.to_thread(store.edit, lambda e: decide(e, ctx))
        except FieldError as exc:
            raise InvalidRequest(f"{exc.path}: {exc.message}", param=exc.path) from None
        except IntegrityProblem as exc:
            raise EntityConflict(str(exc), code="integrity") from None
        self._gov.registry.replace(after)
        return after, result

    # --- customers ---------------------------------------------------------------------

    async def customers(self) -> list[api.CustomerOut]:
        """Every customer."""
        e = await self._fresh()
        return [customer_out(e, c) for _, c in sorted(e.customers.items())]

    async def customer(self, customer_id: str) -> api.CustomerOut:
        """One customer (404 if unknown)."""
        e = await self._fresh()
        return customer_out(e, get(e.customers, customer_id, "customer"))

    async def create_customer(
        self, body: api.CustomerCreate | None = None, /, **fields: Any
    ) -> api.CustomerOut:
        """Create a customer (409 if the id is taken)."""
        spec = coerce(api.CustomerCreate, body, fields)
        e, cid = await self._edit(lambda e, ctx: edits.create_customer(e, spec, ctx))
        return customer_out(e, e.customers[cid])

    async def update_customer(
        self, customer_id: str, body: api.CustomerUpdate | None = None, /, **fields: Any
    ) -> api.CustomerOut:
        """Change a customer's fields."""
        spec = coerce(api.CustomerUpdate, body, fields)
        e, cid = await self._edit(lambda e, ctx: edits.update_customer(e, customer_id, spec, ctx))
        return customer_out(e, e.customers[cid])

    async def delete_customer(self, customer_id: str) -> api.Deleted:
        """Delete a customer without teams or keys (409 otherwise)."""
        await self._edit(lambda e, ctx: edits.delete_customer(e, customer_id))
        return api.Deleted(id=customer_id)

    # --- teams -------------------------------------------------------------------------

    async def teams(self, customer: str | None = None) -> list[api.TeamOut]:
        """Every team (of `customer`, if given)."""
        e = await self._fresh()
        return [
            team_out(e, t)
            for _, t in sorted(e.teams.items())
            if customer is None or t.customer_id == customer
        ]

    async def team(self, team_id: str) -> api.TeamOut:
        """One team (404 if unknown)."""
        e = await self._fresh()
        return team_out(e, get(e.teams, team_id, "team"))

    async def create_team(
        self, body: api.TeamCreate | None = None, /, **fields: Any
    ) -> api.TeamOut:
        """Create a team (its customer must exist)."""
        spec = coerce(api.TeamCreate, body, fields)
        e, tid = await self._edit(lambda e, ctx: edits.create_team(e, spec, ctx))
        return team_out(e, e.teams[tid])

    async def update_team(
        self, team_id: str, body: api.TeamUpdate | None = None, /, **fields: Any
    ) -> api.TeamOut:
        """Change a team's fields (move it to another customer)."""
        spec = coerce(api.TeamUpdate, body, fields)
        e, tid = await self._edit(lambda e, ctx: edits.update_team(e, team_id, spec, ctx))
        return team_out(e, e.teams[tid])

    async def delete_team(self, team_id: str) -> api.Deleted:
        """Delete a team without keys (409 otherwise)."""
        await self._edit(lambda e, ctx: edits.delete_team(e, team_id))
        return api.Deleted(id=team_id)

    # --- virtual keys --------------------------------------------------------------------

    async def keys(self, team: str | None = None, customer: str | None = None) -> list[api.KeyOut]:
        """Every key (in `team`, or directly in `customer`, if given)."""
        e = await self._fresh()
        return [
            key_out(e, k)
            for _, k in sorted(e.keys.items())
            if (team is None or k.team_id == team)
            and (customer is None or k.customer_id == customer)
        ]

    async def key(self, key_id: str) -> api.KeyOut:
        """One key (404 if unknown); never its value."""
        e = await self._fresh()
        return key_out(e, get(e.keys, key_id, "virtual key"))

    async def create_key(
        self, body: api.KeyCreate | None = None, /, **fields: Any
    ) -> api.CreatedKey:
        """Create a key; the answer holds its value, shown this once."""
        spec = coerce(api.KeyCreate, body, fields)
        e, (kid, value) = await self._edit(lambda e, ctx: edits.create_key(e, spec, ctx))
        return api.CreatedKey(**key_fields(e, e.keys[kid]), value=value)  # type: ignore[arg-type]

    async def update_key(
        self, key_id: str, body: api.KeyUpdate | None = None, /, **fields: Any
    ) -> api.KeyOut:
        """Change a key's fields (not its value: see `rotate_key`)."""
        spec = coerce(api.KeyUpdate, body, fields)
        e, kid = await self._edit(lambda e, ctx: edits.update_key(e, key_id, spec, ctx))
        return key_out(e, e.keys[kid])

    async def rotate_key(self, key_id: str) -> api.CreatedKey:
        """Give a key a new value (shown this once); the old value stops working."""
        e, (kid, value) = await self._edit(lambda e, ctx: edits.rotate_key(e, key_id, ctx))
        return api.CreatedKey(**key_fields(e, e.keys[kid]), value=value)  # type: ignore[arg-type]

    async def delete_key(self, key_id: str) -> api.Deleted:
        """Delete a key and its limits."""
        await self._edit(lambda e, ctx: edits.delete_key(e, key_id))
        return api.Deleted(id=key_id)

    # --- budgets and rate limits -----------------------------------------------------------

    def _owner_filter(self, e: Entities, owner: str | None) -> EntityRef | None:
        if owner is None:
            return None
        try:
            return edits.parse_owner(e, owner)
        except FieldError as exc:
            raise InvalidRequest(f"owner: {exc.message}", param="owner") from None

    async def budgets(self, owner: str | None = None) -> list[api.BudgetOut]:
        """Every budget (of `owner`, `kind:id`, if given)."""
        e = await self._fresh()
        ref = self._owner_filter(e, owner)
        items = e.budgets.values() if ref is None else e.budgets_of(ref)
        return [budget_out(b) for b in sorted(items, key=lambda b: b.id)]

    async def budget(self, budget_id: str) -> api.BudgetOut:
        """One budget (404 if unknown)."""
        e = await self._fresh()
        return budget_out(get(e.budgets, budget_id, "budget"))

    async def create_budget(
        self, body: api.BudgetCreate | None = None, /, **fields: Any
    ) -> api.BudgetOut:
        """Add a budget to an entity."""
        spec = coerce(api.BudgetCreate, body, fields)
        e, bid = await self._edit(lambda e, ctx: edits.create_budget(e, spec, ctx))
        return budget_out(e.budgets[bid])

    async def update_budget(
        self, budget_id: str, body: api.BudgetUpdate | None = None, /, **fields: Any
    ) -> api.BudgetOut:
        """Change a budget; its id, and so its spend in the window, is kept."""
        spec = coerce(api.BudgetUpdate, body, fields)
        e, bid = await self._edit(lambda e, ctx: edits.update_budget(e, budget_id, spec, ctx))
        return budget_out(e.budgets[bid])

    async def delete_budget(self, budget_id: str) -> api.Deleted:
        """Delete a budget made through the API."""
        await self._edit(lambda e, ctx: edits.delete_limit(e, budget_id, budgets=True))
        return api.Deleted(id=budget_id)

    async def rate_limits(self, owner: str | None = None) -> list[api.RateLimitOut]:
        """Every rate limit (of `owner`, if given)."""
        e = await self._fresh()
        ref = self._owner_filter(e, owner)
        items = e.rate_limits.values() if ref is None else e.rate_limits_of(ref)
        return [rate_limit_out(r) for r in sorted(items, key=lambda r: r.id)]

    async def rate_limit(self, limit_id: str) -> api.RateLimitOut:
        """One rate limit (404 if unknown)."""
        e = await self._fresh()
        return rate_limit_out(get(e.rate_limits, limit_id, "rate limit"))

    async def create_rate_limit(
        self, body: api.RateLimitCreate | None = None, /, **fields: Any
    ) -> api.RateLimitOut:
        """Add a rate limit to an entity."""
        spec = coerce(api.RateLimitCreate, body, fields)
        e, rid = await self._edit(lambda e, ctx: edits.create_rate_limit(e, spec, ctx))
        return rate_limit_out(e.rate_limits[rid])

    async def update_rate_limit(
        self, limit_id: str, body: api.RateLimitUpdate | None = None, /, **fields: Any
    ) -> api.RateLimitOut:
        """Change a rate limit; its id, and so its counts, is kept."""
        spec = coerce(api.RateLimitUpdate, body, fields)
        e, rid = await self._edit(lambda e, ctx: edits.update_rate_limit(e, limit_id, spec, ctx))
        return rate_limit_out(e.rate_limits[rid])

    async def delete_rate_limit(self, limit_id: str) -> api.Deleted:
        """Delete a rate limit made through the API."""
        await self._edit(lambda e, ctx: edits.delete_limit(e, limit_id, budgets=False))
        return api.Deleted(id=limit_id)

    # --- usage -----------------------------------------------------------------------------

    async def usage(self, entity: str | None = None) -> list[api.EntityUsage]:
        """Each entity's caps with their use in the current window (`entity`: `kind:id`)."""
        e = await self._fresh()
        if entity is None:
            refs = e.owners()
        else:
            try:
                ref = EntityRef.parse(entity)
            except ValueError as exc:
                raise InvalidRequest(f"entity: {exc}", param="entity") from None
            if not e.exists(ref):
                raise EntityNotFound(f"no entity {entity!r}", code="not_found")
            refs = [ref]
        return await self._measure([(r, caps_of(e, r)) for r in refs])

    async def key_self(self, presented: str | None) -> api.KeySelf:
        """The presenting key, and every limit that applies to it with its use."""
        await self._gov.store()
        principal = self._gov.authenticate(presented)
        if principal is None:
            raise AuthenticationFailed(MISSING_KEY, code="missing_key")
        e = self._gov.entities
        refs = [s.ref for s in principal.scopes_above]
        refs += [s.ref for s in principal.grant_scopes.values()]
        usage = await self._measure([(r, caps_of(e, r)) for r in refs])
        return api.KeySelf(key=key_out(e, principal.key), usage=usage)

    async def _measure(
        self, groups: Sequence[tuple[EntityRef, Sequence[Cap]]]
    ) -> list[api.EntityUsage]:
        source = self._gov.usage
        cache = self._gov.cache_usage
        partitions = (
            await cache.cache_usage([str(ref) for ref, _ in groups])
            if cache is not None and groups
            else None
        )
        if source is None:
            return entity_usage(groups, None, partitions)
        caps = [c for _, cs in groups for c in cs]
        readings = await source.usage(caps, self._gov.clock()) if caps else {}
        return entity_usage(groups, readings, partitions)
