"""The management API's edits as pure functions: current entities + a body -> `Changes`.

Each raises `FieldError` (400, naming the field), `EntityNotFound` (404) or
`EntityConflict` (409); `EntityStore.edit` runs it inside the write transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET

from govern.config import ProviderConfig
from govern.governance import api
from govern.governance.build import (
    FieldError,
    budget_from,
    check_count,
    check_id,
    check_models,
    check_unique_limits,
    check_usd,
    grants_from,
    limits_from,
    rate_limit_from,
)
from govern.governance.errors import EntityConflict, EntityNotFound
from govern.governance.keys import generate_key, hash_key, key_hint
from govern.governance.model import (
    Budget,
    Customer,
    Entities,
    EntityRef,
    RateLimit,
    Team,
    VirtualKey,
)
from govern.governance.store import Changes

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class Context:
    """What an edit needs besides the entities."""

    now: datetime
    providers: Mapping[str, ProviderConfig]


def new_id(prefix: str) -> str:
    """A generated entity id (`cus_`, `team_`, `vk_` and 12 hex digits)."""
    return prefix + secrets.token_hex(6)


def get(items: Mapping[str, E], item_id: str, what: str) -> E:
    """The entity with `item_id`, else EntityNotFound (404)."""
    found = items.get(item_id)
    if found is None:
        raise EntityNotFound(f"no {what} {item_id!r}", code="not_found")
    return found


def _fresh(items: Mapping[str, object], item_id: str, what: str) -> str:
    check_id("id", item_id)
    if item_id in items:
        raise EntityConflict(
            f"id: a {what} {item_id!r} already exists", code="already_exists", param="id"
        )
    return item_id


def _not_config(entity: Any, what: str) -> None:
    if entity.source == "config":
        raise EntityConflict(
            f"{what} {entity.id!r} is declared in the config file: remove it there",
            code="declared_in_config",
        )


def _made(
    path: str,
    owner: EntityRef,
    budgets: Sequence[Any],
    rate_limits: Sequence[Any],
    now: datetime,
) -> list[tuple[str, Budget | RateLimit]]:
    made_b, made_r = limits_from(path, owner, budgets, rate_limits, "api", now)
    prefix = f"{path}." if path else ""
    return [
        *((f"{prefix}budgets[{i}]", b) for i, b in enumerate(made_b)),
        *((f"{prefix}rate_limits[{i}]", r) for i, r in enumerate(made_r)),
    ]


def _checked(e: Entities, made: list[tuple[str, Budget | RateLimit]]) -> list[Budget | RateLimit]:
    """New limits whose ids are unique among themselves (400) and unused (409)."""
    check_unique_limits(
        [(p, x) for p, x in made if isinstance(x, Budget)],
        [(p, x) for p, x in made if isinstance(x, RateLimit)],
    )
    for where, item in made:
        _limit_id_free(e, item.id, f"{where}.id")
    return [item for _, item in made]


def _limit_id_free(e: Entities, limit_id: str, param: str) -> None:
    if limit_id in e.budgets or limit_id in e.rate_limits:
        raise EntityConflict(
            f"{param}: a budget or rate limit {limit_id!r} already exists; give this one "
            "another `id` or edit that one",
            code="already_exists",
            param=param,
        )


def _updates(body: msgspec.Struct, rename: Mapping[str, str] | None = None) -> dict[str, Any]:
    rename = rename or {}
    return {
        rename.get(name, name): value
        for name in body.__struct_fields__
        if (value := getattr(body, name)) is not UNSET
    }


# --- customers and teams --------------------------------------------------------------


def create_customer(e: Entities, body: api.CustomerCreate, ctx: Context) -> tuple[Changes, str]:
    """A new customer with its limits."""
    cid = _fresh(e.customers, body.id or new_id("cus_"), "customer")
    customer = Customer(
        id=cid, name=body.name, source="api", created_at=ctx.now, updated_at=ctx.now
    )
    limits = _checked(
        e, _made("", EntityRef("customer", cid), body.budgets, body.rate_limits, ctx.now)
    )
    return Changes(put=[customer, *limits]), cid


def update_customer(
    e: Entities, cid: str, body: api.CustomerUpdate, ctx: Context
) -> tuple[Changes, str]:
    """A customer's fields changed."""
    customer = get(e.customers, cid, "customer")
    changed = msgspec.structs.replace(customer, **_updates(body), updated_at=ctx.now)
    return Changes(put=[changed]), cid


def delete_customer(e: Entities, cid: str) -> tuple[Changes, str]:
    """Delete a customer that owns no team or key (its limits go with it)."""
    customer = get(e.customers, cid, "customer")
    _not_config(customer, "customer")
    teams = sorted(t.id for t in e.teams.values() if t.customer_id == cid)
    keys = sorted(k.id for k in e.keys.values() if k.customer_id == cid)
    if teams or keys:
        owned = ", ".join([*(f"team {t!r}" for t in teams), *(f"key {k!r}" for k in keys)])
        raise EntityConflict(
            f"customer {cid!r} still owns {owned}: move or delete them first", code="in_use"
        )
    return Changes(delete=[customer]), cid


def _team_customer(e: Entities, customer: str | None) -> None:
    if customer is not None and customer not in e.customers:
        raise FieldError("customer", f"unknown customer {customer!r}")


def create_team(e: Entities, body: api.TeamCreate, ctx: Context) -> tuple[Changes, str]:
    """A new team with its limits."""
    tid = _fresh(e.teams, body.id or new_id("team_"), "team")
    _team_customer(e, body.customer)
    team = Team(
        id=tid,
        customer_id=body.customer,
        name=body.name,
        source="api",
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    limits = _checked(e, _made("", EntityRef("team", tid), body.budgets, body.rate_limits, ctx.now))
    return Changes(put=[team, *limits]), tid


def update_team(e: Entities, tid: str, body: api.TeamUpdate, ctx: Context) -> tuple[Changes, str]:
    """A team's fields changed (a new customer must exist)."""
    team = get(e.teams, tid, "team")
    updates = _updates(body, {"customer": "customer_id"})
    if "customer_id" in updates:
        _team_customer(e, updates["customer_id"])
    return Changes(put=[msgspec.structs.replace(team, **updates, updated_at=ctx.now)]), tid


def delete_team(e: Entities, tid: str) -> tuple[Changes, str]:
    """Delete a team without keys (its limits go with it)."""
    team = get(e.teams, tid, "team")
    _not_config(team, "team")
    keys = sorted(k.id for k in e.keys.values() if k.team_id == tid)
    if keys:
        raise EntityConflict(
            f"team {tid!r} still has keys {', '.join(keys)}: move or delete them first",
            code="in_use",
        )
    return Changes(delete=[team]), tid


# --- virtual keys ----------------------------------------------------------------------


def _key_owner(e: Entities, team: str | None, customer: str | None) -> None:
    if team is not None and customer is not None:
        raise FieldError(
            "customer",
            "set `team` or `customer`, not both (a team's key belongs to the team's customer)",
        )
    if team is not None and team not in e.teams:
        raise FieldError("team", f"unknown team {team!r}")
    _team_customer(e, customer)


def create_key(e: Entities, body: api.KeyCreate, ctx: Context) -> tuple[Changes, tuple[str, str]]:
    """A new key with a generated value; returns its id and the value (shown once)."""
    kid = _fresh(e.keys, body.id or new_id("vk_"), "virtual key")
    _key_owner(e, body.team, body.customer)
    check_count("max_concurrent", body.max_concurrent)
    value = generate_key()
    key = VirtualKey(
        id=kid,
        key_hash=hash_key(value),
        hint=key_hint(value),
        team_id=body.team,
        customer_id=body.customer,
        name=body.name,
        models=check_models("models", body.models),
        providers=grants_from("providers", body.providers, ctx.providers),
        prefer=body.prefer,
        active=body.active,
        expires_at=body.expires_at,
        max_concurrent=body.max_concurrent,
        source="api",
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    made = _made("", key.ref, body.budgets, body.rate_limits, ctx.now)
    for i, (spec, grant) in enumerate(zip(body.providers or (), key.grants, strict=True)):
        owner = EntityRef.grant(kid, grant.name)
        made += _made(f"providers[{i}]", owner, spec.budgets, spec.rate_limits, ctx.now)
    limits = _checked(e, made)
    return Changes(put=[key, *limits]), (kid, value)


def update_key(e: Entities, kid: str, body: api.KeyUpdate, ctx: Context) -> tuple[Changes, str]:
    """A key's fields changed; `providers` replaces its provider configs."""
    key = get(e.keys, kid, "virtual key")
    updates = _updates(body, {"team": "team_id", "customer": "customer_id"})
    # Moving a key into a team takes it out of its customer, and the other way round.
    if updates.get("team_id") is not None and "customer_id" not in updates:
        updates["customer_id"] = None
    if updates.get("customer_id") is not None and "team_id" not in updates:
        updates["team_id"] = None
    merged = {"team_id": key.team_id, "customer_id": key.customer_id, **updates}
    _key_owner(e, merged["team_id"], merged["customer_id"])
    if "models" in updates:
        updates["models"] = check_models("models", updates["models"])
    if "max_concurrent" in updates:
        check_count("max_concurrent", updates["max_concurrent"])
    if "providers" in updates:
        specs = updates["providers"]
        for i, spec in enumerate(specs or ()):
            for name in ("budgets", "rate_limits"):
                if getattr(spec, name):
                    raise FieldError(
                        f"providers[{i}].{name}",
                        f"edit a provider config's {name.replace('_', ' ')} at "
                        f"/api/{name.replace('_', '-')} (owner `provider:{kid}:<name>`)",
                    )
        updates["providers"] = grants_from("providers", specs, ctx.providers)
    return Changes(put=[msgspec.structs.replace(key, **updates, updated_at=ctx.now)]), kid


def rotate_key(e: Entities, kid: str, ctx: Context) -> tuple[Changes, tuple[str, str]]:
    """A new value for a key (the old one stops working); returns its id and the value."""
    key = get(e.keys, kid, "virtual key")
    value = generate_key()
    rotated = msgspec.structs.replace(
        key, key_hash=hash_key(value), hint=key_hint(value), updated_at=ctx.now
    )
    return Changes(put=[rotated]), (kid, value)


def delete_key(e: Entities, kid: str) -> tuple[Changes, str]:
    """Delete a key (its limits and its provider configs' go with it)."""
    key = get(e.keys, kid, "virtual key")
    _not_config(key, "virtual key")
    return Changes(delete=[key]), kid


# --- budgets and rate limits ---------------------------------------------------------------


def parse_owner(e: Entities, text: str, param: str = "owner") -> EntityRef:
    """The entity an `owner` field names; FieldError unless it is well-formed and exists."""
    try:
        ref = EntityRef.parse(text)
    except ValueError as exc:
        raise FieldError(param, str(exc)) from None
    if not e.exists(ref):
        raise FieldError(param, f"no such entity {text!r}")
    return ref


def create_budget(e: Entities, body: api.BudgetCreate, ctx: Context) -> tuple[Changes, str]:
    """A new budget on an existing entity."""
    owner = parse_owner(e, body.owner)
    budget = budget_from("", body.spec(), owner, "api", ctx.now)
    _limit_id_free(e, budget.id, "id")
    return Changes(put=[budget]), budget.id


def update_budget(
    e: Entities, bid: str, body: api.BudgetUpdate, ctx: Context
) -> tuple[Changes, str]:
    """A budget's fields changed; its id (and so its spend) kept."""
    budget = get(e.budgets, bid, "budget")
    updates = _updates(body)
    if "max_usd" in updates:
        check_usd("max_usd", updates["max_usd"])
    return Changes(put=[msgspec.structs.replace(budget, **updates, updated_at=ctx.now)]), bid


def create_rate_limit(e: Entities, body: api.RateLimitCreate, ctx: Context) -> tuple[Changes, str]:
    """A new rate limit on an existing entity."""
    owner = parse_owner(e, body.owner)
    limit = rate_limit_from("", body.spec(), owner, "api", ctx.now)
    _limit_id_free(e, limit.id, "id")
    return Changes(put=[limit]), limit.id


def update_rate_limit(
    e: Entities, rid: str, body: api.RateLimitUpdate, ctx: Context
) -> tuple[Changes, str]:
    """A rate limit's fields changed; its id (and so its counts) kept."""
    limit = get(e.rate_limits, rid, "rate limit")
    changed = msgspec.structs.replace(limit, **_updates(body), updated_at=ctx.now)
    if changed.requests is None and changed.tokens is None:
        raise FieldError("requests", "set `requests` and/or `tokens`")
    check_count("requests", changed.requests)
    check_count("tokens", changed.tokens)
    return Changes(put=[changed]), rid


def delete_limit(e: Entities, limit_id: str, budgets: bool) -> tuple[Changes, str]:
    """Delete a budget (`budgets`) or a rate limit declared through the API."""
    items: Mapping[str, Budget | RateLimit] = e.budgets if budgets else e.rate_limits
    item = get(items, limit_id, "budget" if budgets else "rate limit")
    _not_config(item, "budget" if budgets else "rate limit")
    return Changes(delete=[item]), limit_id
