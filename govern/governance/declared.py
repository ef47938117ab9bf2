"""The `governance` config section: its checks, and the entities it declares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from govern.config import (
    BudgetConfig,
    GovernConfig,
    ProviderConfig,
    RateLimitConfig,
    VirtualKeyConfig,
)
from govern.errors import ConfigError
from govern.governance.build import (
    FieldError,
    check_count,
    check_id,
    check_models,
    check_unique_limits,
    grants_from,
    limits_from,
)
from govern.governance.keys import hash_key, is_key_hash
from govern.governance.model import (
    Budget,
    Customer,
    Entity,
    EntityRef,
    RateLimit,
    Team,
    VirtualKey,
)

ADMIN_KEY_ENV = "GOVERN_ADMIN_KEY"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _HasLimits(Protocol):
    @property
    def budgets(self) -> Sequence[BudgetConfig]: ...
    @property
    def rate_limits(self) -> Sequence[RateLimitConfig]: ...


@dataclass
class Declared:
    """Every entity a config file declares."""

    customers: list[Customer] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    keys: list[VirtualKey] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    rate_limits: list[RateLimit] = field(default_factory=list)

    def all(self) -> list[Entity]:
        """Every declared entity, owners before what they own."""
        return [*self.customers, *self.teams, *self.keys, *self.budgets, *self.rate_limits]


def _secret(where: str, value: str | None, env: Mapping[str, str]) -> str | None:
    if value is not None and value.startswith("env."):
        if value[4:] not in env:
            raise ConfigError(f"{where}: environment variable {value[4:]} is not set")
        return env[value[4:]]
    return value


def validate_governance(config: GovernConfig, env: Mapping[str, str]) -> None:
    """Check the governance section, resolve its `env.NAME` secrets and replace each
    virtual key's `value` by its `hash` (the plain value is not kept); raise ConfigError."""
    gc = config.governance
    gc.admin_key = _secret("governance.admin_key", gc.admin_key, env) or env.get(ADMIN_KEY_ENV)
    gc.redis_url = _secret("governance.redis_url", gc.redis_url, env)
    if gc.ledger == "redis" and not gc.redis_url:
        raise ConfigError("governance.redis_url: required when governance.ledger is redis")
    if gc.default_max_output_tokens < 1:
        raise ConfigError("governance.default_max_output_tokens: must be >= 1")
    if not gc.refresh_seconds >= 0:
        raise ConfigError("governance.refresh_seconds: must be >= 0")
    for i, key in enumerate(gc.virtual_keys):
        _hash_value(f"governance.virtual_keys[{i}]", key, env)
    try:
        declare(config, EPOCH)
    except FieldError as exc:
        raise ConfigError(f"governance.{exc.path}: {exc.message}") from None


def _hash_value(where: str, key: VirtualKeyConfig, env: Mapping[str, str]) -> None:
    if key.value is not None and key.hash is not None:
        raise ConfigError(f"{where}.hash: set `value` or `hash`, not both")
    value = _secret(f"{where}.value", key.value, env)
    if value is not None:
        if not value.strip():
            raise ConfigError(f"{where}.value: must not be empty")
        key.value, key.hash = None, hash_key(value)
    elif key.hash is None:
        raise ConfigError(f"{where}.value: set `value` (or `env.NAME`) or `hash`")
    elif not is_key_hash(key.hash.lower()):
        raise ConfigError(f"{where}.hash: expected a SHA-256 as 64 hex digits")
    else:
        key.hash = key.hash.lower()


def declare(config: GovernConfig, now: datetime) -> Declared:
    """The entities of a validated config, created at `now`; raises FieldError."""
    gc = config.governance
    out = Declared()
    budgets: list[tuple[str, Budget]] = []
    limits: list[tuple[str, RateLimit]] = []

    def add_limits(path: str, owner: EntityRef, spec: _HasLimits) -> None:
        b, r = limits_from(path, owner, spec.budgets, spec.rate_limits, "config", now)
        budgets.extend((f"{path}.budgets[{i}]", x) for i, x in enumerate(b))
        limits.extend((f"{path}.rate_limits[{i}]", x) for i, x in enumerate(r))

    customers = _unique_ids("customers", [c.id for c in gc.customers])
    for i, c in enumerate(gc.customers):
        out.customers.append(Customer(id=c.id, name=c.name, source="config", **_times(now)))
        add_limits(f"customers[{i}]", EntityRef("customer", c.id), c)
    teams = _unique_ids("teams", [t.id for t in gc.teams])
    for i, t in enumerate(gc.teams):
        if t.customer is not None and t.customer not in customers:
            raise FieldError(f"teams[{i}].customer", f"unknown customer {t.customer!r}")
        out.teams.append(
            Team(id=t.id, customer_id=t.customer, name=t.name, source="config", **_times(now))
        )
        add_limits(f"teams[{i}]", EntityRef("team", t.id), t)
    _unique_ids("virtual_keys", [k.id for k in gc.virtual_keys])
    hashes: dict[str, int] = {}
    for i, k in enumerate(gc.virtual_keys):
        out.keys.append(_key(i, k, config.providers, customers, teams, hashes, now))
        add_limits(f"virtual_keys[{i}]", EntityRef("key", k.id), k)
        for j, spec in enumerate(k.providers or ()):
            name = out.keys[-1].grants[j].name
            add_limits(f"virtual_keys[{i}].providers[{j}]", EntityRef.grant(k.id, name), spec)
    check_unique_limits(budgets, limits)
    out.budgets = [b for _, b in budgets]
    out.rate_limits = [r for _, r in limits]
    return out


def _key(
    i: int,
    k: VirtualKeyConfig,
    providers: Mapping[str, ProviderConfig],
    customers: set[str],
    teams: set[str],
    hashes: dict[str, int],
    now: datetime,
) -> VirtualKey:
    where = f"virtual_keys[{i}]"
    if k.team is not None and k.customer is not None:
        raise FieldError(
            f"{where}.customer",
            "set `team` or `customer`, not both (a team's key belongs to the team's customer)",
        )
    if k.team is not None and k.team not in teams:
        raise FieldError(f"{where}.team", f"unknown team {k.team!r}")
    if k.customer is not None and k.customer not in customers:
        raise FieldError(f"{where}.customer", f"unknown customer {k.customer!r}")
    check_count(f"{where}.max_concurrent", k.max_concurrent)
    if k.hash is None:  # validate_governance has run: every key has its hash
        raise FieldError(f"{where}.value", "set `value` (or `env.NAME`) or `hash`")
    first = hashes.setdefault(k.hash, i)
    if first != i:
        raise FieldError(f"{where}.value", f"the same key as virtual_keys[{first}]")
    return VirtualKey(
        id=k.id,
        key_hash=k.hash,
        hint=None,
        team_id=k.team,
        customer_id=k.customer,
        name=k.name,
        models=check_models(f"{where}.models", k.models),
        providers=grants_from(f"{where}.providers", k.providers, providers),
        prefer=k.prefer,
        active=k.active,
        expires_at=k.expires_at,
        max_concurrent=k.max_concurrent,
        source="config",
        **_times(now),
    )


def _unique_ids(path: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, entity_id in enumerate(ids):
        check_id(f"{path}[{i}].id", entity_id)
        if entity_id in seen:
            raise FieldError(f"{path}[{i}].id", f"another entry has the id {entity_id!r}")
        seen.add(entity_id)
    return seen


def _times(now: datetime) -> dict[str, datetime]:
    return {"created_at": now, "updated_at": now}
