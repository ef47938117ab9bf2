"""Governance entities as frozen values: customers, teams, virtual keys, provider configs,
budgets and rate limits, and `Entities`, one consistent snapshot of them all.

Entities refer to each other by id. An owner of limits is named by an `EntityRef`
written `kind:id` (`customer:acme`, `team:eng`, `key:alice`, `provider:alice:openai` for
the provider config `openai` of key `alice`), so entity ids never contain `:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from msgspec import Struct

Tier = Literal["customer", "team", "key", "provider"]
"""The four kinds of entity that hold limits, outermost first."""
TIERS: tuple[Tier, ...] = get_args(Tier)
Reset = Literal["1m", "1h", "1d", "1w", "1M", "never"]
Window = Literal["calendar", "rolling"]
BudgetMode = Literal["reserve", "optimistic"]
TokenCount = Literal["total", "input", "output"]
Prefer = Literal["weight", "cheapest"]
Source = Literal["config", "api"]
"""Where an entity was declared: the config file (seeded at start) or the management API."""

ENTITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
"""Customer, team, key and provider-config ids: letters, digits, `_ . -`."""
LIMIT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}")
"""Budget and rate-limit ids: also `:`, as in the default ids."""


class EntityRef(Struct, frozen=True):
    """The owner of a limit: `kind` and id (a provider config's id is `key:name`)."""

    kind: Tier
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> EntityRef:
        """`kind:id` as a ref; raises ValueError saying what is wrong."""
        kind, sep, rest = text.partition(":")
        if not sep or kind not in TIERS:
            raise ValueError(
                f"expected `kind:id` with kind one of {', '.join(TIERS)}, got {text!r}"
            )
        parts = rest.split(":")
        if len(parts) != (2 if kind == "provider" else 1) or not all(
            ENTITY_ID.fullmatch(p) for p in parts
        ):
            shape = "provider:<key>:<name>" if kind == "provider" else f"{kind}:<id>"
            raise ValueError(f"expected `{shape}` (ids of letters, digits, `_ . -`), got {text!r}")
        return cls(kind, rest)

    @classmethod
    def grant(cls, key_id: str, name: str) -> EntityRef:
        """The ref of provider config `name` of key `key_id`."""
        return cls("provider", f"{key_id}:{name}")


class Budget(Struct, frozen=True, kw_only=True):
    """A spending cap of one entity. Its `id` keys its spend in the ledger."""

    id: str
    owner: EntityRef
    max_usd: Decimal
    reset: Reset
    window: Window
    mode: BudgetMode
    source: Source
    created_at: datetime
    """Also the anchor of rolling windows; kept when the budget is edited."""
    updated_at: datetime


class RateLimit(Struct, frozen=True, kw_only=True):
    """A cap on requests and/or tokens per window of one entity."""

    id: str
    owner: EntityRef
    requests: int | None
    tokens: int | None
    count: TokenCount
    reset: Reset
    window: Window
    source: Source
    created_at: datetime
    updated_at: datetime


class Customer(Struct, frozen=True, kw_only=True):
    """An organisation."""

    id: str
    name: str | None
    source: Source
    created_at: datetime
    updated_at: datetime


class Team(Struct, frozen=True, kw_only=True):
    """A team, in at most one customer."""

    id: str
    customer_id: str | None
    name: str | None
    source: Source
    created_at: datetime
    updated_at: datetime


class ProviderGrant(Struct, frozen=True, kw_only=True):
    """A provider config inside a virtual key: one provider the key may use, and how."""

    name: str
    """Id within the key (default: the provider's name)."""
    provider: str
    models: tuple[str, ...] | None
    """None: inherit the key's allow list; (): no model. Narrows the key's list."""
    weight: float
    keys: tuple[str, ...] | None
    """Provider key names it may use; None: all; (): none."""

    def allows_key(self, name: str) -> bool:
        """Whether this config may call the provider with its key `name`."""
        return self.keys is None or name in self.keys


class VirtualKey(Struct, frozen=True, kw_only=True):
    """A virtual key. Only the SHA-256 of its value is known."""

    id: str
    key_hash: str
    hint: str | None
    """The value's first characters (`gk-AbCd`), to recognise a key; None if unknown."""
    team_id: str | None
    customer_id: str | None
    """Set only for a key directly in a customer (a team's key takes the team's)."""
    name: str | None
    models: tuple[str, ...] | None
    """None: every model; (): none; else exact names and fnmatch patterns."""
    providers: tuple[ProviderGrant, ...] | None
    """None: every provider, no provider tier; (): none."""
    prefer: Prefer
    active: bool
    expires_at: datetime | None
    max_concurrent: int | None
    source: Source
    created_at: datetime
    updated_at: datetime

    @property
    def ref(self) -> EntityRef:
        """This key as a limit owner."""
        return EntityRef("key", self.id)

    @property
    def grants(self) -> tuple[ProviderGrant, ...]:
        """The key's provider configs (none when unset)."""
        return self.providers or ()


Entity = Customer | Team | VirtualKey | Budget | RateLimit


@dataclass(frozen=True, slots=True)
class Entities:
    """Every entity at one revision of the store, indexed for lookups."""

    customers: dict[str, Customer] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    keys: dict[str, VirtualKey] = field(default_factory=dict)
    budgets: dict[str, Budget] = field(default_factory=dict)
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    revision: int = 0
    _budgets_by_owner: dict[EntityRef, tuple[Budget, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _limits_by_owner: dict[EntityRef, tuple[RateLimit, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        budgets: dict[EntityRef, list[Budget]] = {}
        for b in sorted(self.budgets.values(), key=lambda b: b.id):
            budgets.setdefault(b.owner, []).append(b)
        limits: dict[EntityRef, list[RateLimit]] = {}
        for r in sorted(self.rate_limits.values(), key=lambda r: r.id):
            limits.setdefault(r.owner, []).append(r)
        object.__setattr__(self, "_budgets_by_owner", {k: tuple(v) for k, v in budgets.items()})
        object.__setattr__(self, "_limits_by_owner", {k: tuple(v) for k, v in limits.items()})

    def budgets_of(self, owner: EntityRef) -> tuple[Budget, ...]:
        """The budgets `owner` holds, by id."""
        return self._budgets_by_owner.get(owner, ())

    def rate_limits_of(self, owner: EntityRef) -> tuple[RateLimit, ...]:
        """The rate limits `owner` holds, by id."""
        return self._limits_by_owner.get(owner, ())

    def exists(self, ref: EntityRef) -> bool:
        """Whether the entity `ref` names is here."""
        if ref.kind == "customer":
            return ref.id in self.customers
        if ref.kind == "team":
            return ref.id in self.teams
        if ref.kind == "key":
            return ref.id in self.keys
        key_id, _, name = ref.id.partition(":")
        key = self.keys.get(key_id)
        return key is not None and any(g.name == name for g in key.providers or ())

    def owners(self) -> list[EntityRef]:
        """Every entity that can hold limits, outermost tier first."""
        refs = [EntityRef("customer", c) for c in sorted(self.customers)]
        refs += [EntityRef("team", t) for t in sorted(self.teams)]
        for key_id in sorted(self.keys):
            refs.append(EntityRef("key", key_id))
            refs += [EntityRef.grant(key_id, g.name) for g in self.keys[key_id].providers or ()]
        return refs


def default_budget_id(owner: EntityRef, reset: str, window: str) -> str:
    """`<owner>:budget:<reset>` (plus `-rolling`): stable while `max_usd` changes."""
    return f"{owner}:budget:{reset}{'-rolling' if window == 'rolling' else ''}"


def default_rate_limit_id(owner: EntityRef, reset: str, window: str) -> str:
    """`<owner>:rate:<reset>` (plus `-rolling`)."""
    return f"{owner}:rate:{reset}{'-rolling' if window == 'rolling' else ''}"
