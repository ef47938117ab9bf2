"""The management API's request and response bodies (also `Gateway.admin`'s values).

Create bodies reuse the config file's sections, so a budget or key means the same in
both. Update bodies are partial: a field left out keeps its value, `null` sets it to
null (for `models`: every model; for `providers`: every provider).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from msgspec import UNSET, Struct, UnsetType, field

from govern.config import (
    AwareDatetime,
    BudgetConfig,
    KeyProviderConfig,
    RateLimitConfig,
)
from govern.governance.caps import CapKind
from govern.governance.model import BudgetMode, Prefer, Reset, Source, TokenCount, Window

_Body = {"kw_only": True, "forbid_unknown_fields": True}
_Out = {"kw_only": True}


class BudgetOut(Struct, **_Out):
    """A budget."""

    id: str
    owner: str
    """`customer:<id>`, `team:<id>`, `key:<id>` or `provider:<key>:<name>`."""
    max_usd: Decimal
    reset: Reset
    window: Window
    mode: BudgetMode
    source: Source
    created_at: datetime
    updated_at: datetime


class RateLimitOut(Struct, **_Out):
    """A rate limit."""

    id: str
    owner: str
    requests: int | None
    tokens: int | None
    count: TokenCount
    reset: Reset
    window: Window
    source: Source
    created_at: datetime
    updated_at: datetime


class CustomerOut(Struct, **_Out):
    """A customer and its limits."""

    id: str
    name: str | None
    source: Source
    created_at: datetime
    updated_at: datetime
    budgets: list[BudgetOut]
    rate_limits: list[RateLimitOut]


class TeamOut(Struct, **_Out):
    """A team and its limits."""

    id: str
    customer: str | None
    name: str | None
    source: Source
    created_at: datetime
    updated_at: datetime
    budgets: list[BudgetOut]
    rate_limits: list[RateLimitOut]


class ProviderConfigOut(Struct, **_Out):
    """A provider config of a key and its limits."""

    name: str
    provider: str
    models: list[str] | None
    weight: float
    keys: list[str] | None
    budgets: list[BudgetOut]
    rate_limits: list[RateLimitOut]


class KeyOut(Struct, **_Out):
    """A virtual key (never its value or hash) and its limits."""

    id: str
    hint: str | None
    """The value's first characters, for a key the gateway generated."""
    team: str | None
    customer: str | None
    """The key's own customer (a team's key: null; the team's customer applies)."""
    name: str | None
    models: list[str] | None
    providers: list[ProviderConfigOut] | None
    prefer: Prefer
    active: bool
    expires_at: datetime | None
    max_concurrent: int | None
    source: Source
    created_at: datetime
    updated_at: datetime
    budgets: list[BudgetOut]
    rate_limits: list[RateLimitOut]


class CreatedKey(KeyOut, **_Out):
    """A key just created or rotated, with its value: shown this once, never again."""

    value: str


class CustomerCreate(Struct, **_Body):
    """`POST /api/customers`."""

    id: str | None = None
    """Default: `cus_` and 12 random hex digits."""
    name: str | None = None
    budgets: list[BudgetConfig] = field(default_factory=list)
    rate_limits: list[RateLimitConfig] = field(default_factory=list)


class CustomerUpdate(Struct, **_Body):
    """`PATCH /api/customers/{id}`."""

    name: str | UnsetType | None = UNSET


class TeamCreate(Struct, **_Body):
    """`POST /api/teams`."""

    id: str | None = None
    """Default: `team_` and 12 random hex digits."""
    customer: str | None = None
    name: str | None = None
    budgets: list[BudgetConfig] = field(default_factory=list)
    rate_limits: list[RateLimitConfig] = field(default_factory=list)


class TeamUpdate(Struct, **_Body):
    """`PATCH /api/teams/{id}`."""

    customer: str | UnsetType | None = UNSET
    name: str | UnsetType | None = UNSET


class KeyCreate(Struct, **_Body):
    """`POST /api/keys`: the gateway generates the value and answers it once."""

    id: str | None = None
    """Default: `vk_` and 12 random hex digits."""
    team: str | None = None
    customer: str | None = None
    name: str | None = None
    models: list[str] | None = None
    providers: list[KeyProviderConfig] | None = None
    prefer: Prefer = "weight"
    active: bool = True
    expires_at: AwareDatetime | None = None
    max_concurrent: int | None = None
    budgets: list[BudgetConfig] = field(default_factory=list)
    rate_limits: list[RateLimitConfig] = field(default_factory=list)


class KeyUpdate(Struct, **_Body):
    """`PATCH /api/keys/{id}`. `providers` replaces the provider configs (their limits
    are edited at `/api/budgets` and `/api/rate-limits`; a removed config's are deleted)."""

    team: str | UnsetType | None = UNSET
    customer: str | UnsetType | None = UNSET
    name: str | UnsetType | None = UNSET
    models: list[str] | UnsetType | None = UNSET
    providers: list[KeyProviderConfig] | UnsetType | None = UNSET
    prefer: Prefer | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    expires_at: AwareDatetime | UnsetType | None = UNSET
    max_concurrent: int | UnsetType | None = UNSET


class BudgetCreate(Struct, **_Body):
    """`POST /api/budgets`: a budget (fields as in the config file) and its owner."""

    owner: str
    """`customer:<id>`, `team:<id>`, `key:<id>` or `provider:<key>:<name>`."""
    max_usd: Decimal
    reset: Reset = "1M"
    window: Window = "calendar"
    mode: BudgetMode = "reserve"
    id: str | None = None

    def spec(self) -> BudgetConfig:
        """The budget without its owner."""
        return BudgetConfig(
            max_usd=self.max_usd, reset=self.reset, window=self.window, mode=self.mode, id=self.id
        )


class BudgetUpdate(Struct, **_Body):
    """`PATCH /api/budgets/{id}`: the id, and so the window's spend, is kept."""

    max_usd: Decimal | UnsetType = UNSET
    reset: Reset | UnsetType = UNSET
    window: Window | UnsetType = UNSET
    mode: BudgetMode | UnsetType = UNSET


class RateLimitCreate(Struct, **_Body):
    """`POST /api/rate-limits`: a rate limit (fields as in the config file) and its owner."""

    owner: str
    """As for budgets."""
    requests: int | None = None
    tokens: int | None = None
    count: TokenCount = "total"
    reset: Reset = "1m"
    window: Window = "calendar"
    id: str | None = None

    def spec(self) -> RateLimitConfig:
        """The rate limit without its owner."""
        return RateLimitConfig(
            requests=self.requests,
            tokens=self.tokens,
            count=self.count,
            reset=self.reset,
            window=self.window,
            id=self.id,
        )


class RateLimitUpdate(Struct, **_Body):
    """`PATCH /api/rate-limits/{id}`."""

    requests: int | UnsetType | None = UNSET
    tokens: int | UnsetType | None = UNSET
    count: TokenCount | UnsetType = UNSET
    reset: Reset | UnsetType = UNSET
    window: Window | UnsetType = UNSET


class CapUsageOut(Struct, **_Out):
    """One cap's use in its current window. Dollars for `usd`, else counts; the
    counters are null when no ledger is attached."""

    id: str
    """The cap: a budget's id, a rate limit's id plus `:requests` or `:tokens`."""
    source_id: str
    kind: CapKind
    limit: Decimal | int
    spent: Decimal | int | None
    reserved: Decimal | int | None
    remaining: Decimal | int | None
    window_start: datetime | None
    resets_at: datetime | None
    """Null for a window that never resets (or without a ledger)."""


class CacheUsageOut(Struct, **_Out):
    """An entity's partition of the response cache: its live entries and this process's
    counters since start."""

    scope: str
    """The partition (`key:<id>`, `team:<id>`, `customer:<id>`): it holds entries when the
    cache's `scope` is that tier."""
    entries: int
    """Live entries."""
    hits: int
    """Requests answered from the cache (both layers)."""
    exact_hits: int
    semantic_hits: int
    misses: int
    """Requests with the cache on that it could not answer."""
    saved_usd: Decimal
    """What the hits would have cost, exactly."""


class EntityUsage(Struct, omit_defaults=True, **_Out):
    """`GET /api/usage`: the caps of one entity."""

    entity: str
    caps: list[CapUsageOut]
    cache: CacheUsageOut | None = None
    """Its cache partition, when that holds entries or was used since start; left out
    otherwise."""


class KeySelf(Struct, **_Out):
    """`GET /api/keys/self`: the presenting key and every limit that applies to it."""

    key: KeyOut
    usage: list[EntityUsage]
    """Customer, team, key and provider-config caps, outermost first."""


class Deleted(Struct, **_Out):
    """A delete's answer."""

    id: str
    deleted: Literal[True] = True
