"""Customers, teams, virtual keys, their budgets and rate limits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Struct, field

from govern.config.base import STRICT as _Strict
from govern.config.cache import CacheSettings

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
"""A datetime with a time zone."""

Reset = Literal["1m", "1h", "1d", "1w", "1M", "never"]
"""A limit's window length: minute, hour, day, week, month, or `never` (a lifetime cap)."""


class BudgetConfig(Struct, **_Strict):
    """A spending cap on a customer, team, virtual key or provider config.

    Each budget applies on its own and every tier applies at once: a call is admitted only
    if the key's, its team's, its customer's and the chosen provider config's budgets all
    have room. An entity without budgets is unlimited at its tier, while the tiers above
    it still apply; `max_usd = 0` means nothing may be spent.
    """

    max_usd: Decimal
    """The cap in US dollars per window (exact decimal; `0` blocks every priced call)."""
    reset: Reset = "1M"
    """Window length: `1m`, `1h`, `1d`, `1w`, `1M` (month) or `never` (prepaid: spend
    accumulates for ever)."""
    window: Literal["calendar", "rolling"] = "calendar"
    """`calendar`: windows aligned in UTC (minute and hour on the clock, day at midnight,
    week on Monday, month on the 1st). `rolling`: consecutive windows of the same length
    starting when the budget was created."""
    mode: Literal["reserve", "optimistic"] = "reserve"
    """`reserve`: the worst-case cost is reserved before each call, so the cap holds
    under concurrency (a hard cap). `optimistic`: a call is admitted while spend is below
    the cap and charged afterwards, so concurrent calls may overshoot it."""
    id: str | None = None
    """Stable id (letters, digits, `_ . : -`). Default `<owner>:budget:<reset>` (plus
    `-rolling`), for example `team:eng:budget:1M`; a provider config's owner is
    `provider:<key>:<name>`. Spend belongs to the id: editing `max_usd` keeps it,
    changing `reset` changes the default id and starts from zero."""


class RateLimitConfig(Struct, **_Strict):
    """A cap on requests and/or tokens per window, on any entity (see BudgetConfig for
    how tiers combine). No rate limit means unlimited at that tier; `0` blocks every call."""

    requests: int | None = None
    """Requests admitted per window; unset: requests are not counted by this limit."""
    tokens: int | None = None
    """Tokens admitted per window (counted as `count` says); unset: not counted."""
    count: Literal["total", "input", "output"] = "total"
    """Which tokens `tokens` counts: input + output (`total`), `input` or `output`."""
    reset: Reset = "1m"
    """Window length: `1m`, `1h`, `1d`, `1w`, `1M` (month) or `never` (a lifetime quota)."""
    window: Literal["calendar", "rolling"] = "calendar"
    """`calendar` (aligned in UTC) or `rolling` (windows from the limit's creation)."""
    id: str | None = None
    """Stable id; default `<owner>:rate:<reset>` (plus `-rolling`). Counts belong to it."""


class CustomerConfig(Struct, **_Strict):
    """An organisation: the outermost tier."""

    id: str
    """Stable id (letters, digits, `_ . -`), used in logs and by teams and keys."""
    name: str | None = None
    """Display name."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of everything the customer owns; empty: unlimited at this tier."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of everything the customer owns; empty: unlimited."""
    cache: CacheSettings | None = None
    """Cache settings for everything the customer owns (mode, TTL, threshold, scope); unset
    fields inherit from the tier above, then the `cache` section. Set in this file only
    (not through the management API)."""


class TeamConfig(Struct, **_Strict):
    """A team, inside at most one customer."""

    id: str
    """Stable id (letters, digits, `_ . -`)."""
    customer: str | None = None
    """The customer's id; unset: the team stands alone (no customer tier applies)."""
    name: str | None = None
    """Display name."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of the team's keys together; empty: unlimited at this tier."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of the team's keys together; empty: unlimited."""
    cache: CacheSettings | None = None
    """Cache settings for the team's keys (mode, TTL, threshold, scope); unset
    fields inherit from the tier above, then the `cache` section. Set in this file only
    (not through the management API)."""


class KeyProviderConfig(Struct, **_Strict):
    """A provider a virtual key may use, with its own models, weight, keys and limits."""

    provider: str
    """The provider's name in `providers`."""
    name: str | None = None
    """Id within the key (default: `provider`); set it to give one provider two configs."""
    models: list[str] | None = None
    """Allow list for this provider (patterns as in the key's `models`). Unset: inherit
    the key's allow list; `[]`: no model. It narrows the key's list, never widens it."""
    weight: float = 1.0
    """Relative share of traffic among the key's provider configs that serve a model."""
    keys: list[str] | None = None
    """Names of the provider's keys this config may use; unset: all of them; `[]`: none."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of this provider for this key; when one is exhausted the provider is
    skipped and routing falls back to the key's other providers."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of this provider for this key (exhausted: skipped)."""


class VirtualKeyConfig(Struct, **_Strict):
    """A virtual key: what a client presents, in a team, directly in a customer, or alone."""

    id: str
    """Stable id (letters, digits, `_ . -`), shown in logs instead of the secret."""
    value: str | None = None
    """The key a client presents, or `env.NAME`; only its SHA-256 is kept. Exclusive
    with `hash`. Keys made by the management API (`gk-...`) need neither."""
    hash: str | None = None
    """The key's SHA-256 as 64 hex digits, so the file need not hold the secret."""
    team: str | None = None
    """The team's id (its customer applies too). Exclusive with `customer`."""
    customer: str | None = None
    """The customer's id, for a key directly in a customer; unset with `team` unset:
    the key stands alone."""
    name: str | None = None
    """Display name."""
    models: list[str] | None = None
    """Allow list. Unset: every model; `[]`: none. An entry is an exact name or an
    `fnmatch` pattern (`*`, `?`, `[seq]`, case-sensitive) tested against both
    `provider/model` and the bare model name; either matching allows the call. `*`
    allows everything, `openai/*` one provider, `gpt-4o*` a family on any provider."""
    providers: list[KeyProviderConfig] | None = None
    """Providers the key may use, each with its own limits. Unset: every configured
    provider, with no provider tier; `[]`: no provider."""
    prefer: Literal["weight", "cheapest"] = "weight"
    """Order among the provider configs serving a model: by `weight`, or the
    `cheapest` by estimated cost first."""
    active: bool = True
    """An inactive key gets 403."""
    expires_at: AwareDatetime | None = None
    """After this instant (with a time zone, for example `2026-01-01T00:00:00Z`) the
    key gets 403; unset: never expires."""
    max_concurrent: int | None = None
    """In-flight requests at most; unset: unlimited; `0`: none."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of this key; empty: unlimited at this tier."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of this key; empty: unlimited at this tier."""
    cache: CacheSettings | None = None
    """Cache settings for this key (mode, TTL, threshold, scope); unset
    fields inherit from the tier above, then the `cache` section. Set in this file only
    (not through the management API)."""


class GovernanceConfig(Struct, **_Strict):
    """Customers, teams, virtual keys, their budgets and rate limits (`govern.governance`).

    The entities here seed the entity store (the request log's database) at start: one
    missing from the store is created, one whose declaration changed since the last
    start is overwritten, and one removed from this file is deleted. Edits made through
    the management API persist until the file's declaration of that entity changes.
    """

    customers: list[CustomerConfig] = field(default_factory=list)
    """Organisations."""
    teams: list[TeamConfig] = field(default_factory=list)
    """Teams."""
    virtual_keys: list[VirtualKeyConfig] = field(default_factory=list)
    """Virtual keys."""
    require_key: bool | None = None
    """Unset: a virtual key is required once any exists (in this file or the store);
    `true`: always; `false`: calls without a key are allowed (ungoverned)."""
    admin_key: str | None = None
    """The management API's key (or `env.NAME`); unset: `$GOVERN_ADMIN_KEY`; neither:
    the HTTP management API is off (Python's `Gateway.admin` still works)."""
    ledger: Literal["memory", "redis"] = "memory"
    """Where budget and rate-limit counters live: `memory` (one process, rebuilt from
    the request log at start) or `redis` (shared by replicas; the `[redis]` extra)."""
    redis_url: str | None = None
    """Redis URL (or `env.NAME`), for `ledger = "redis"`."""
    on_ledger_error: Literal["fail_closed", "fail_open"] = "fail_closed"
    """When the ledger cannot be reached: `fail_closed` answers 503; `fail_open` lets
    calls through uncounted."""
    default_max_output_tokens: int = 4096
    """Output tokens reserved for a call that sets no `max_tokens` and whose model's
    maximum output is unknown."""
    refresh_seconds: float = 5.0
    """How often entities are re-read from the store, so edits made through another
    replica apply here; `0`: only at start and after this process's own edits."""

    def __repr__(self) -> str:
        return (
            f"GovernanceConfig(customers={len(self.customers)}, teams={len(self.teams)}, "
            f"virtual_keys={len(self.virtual_keys)}, ledger={self.ledger!r}, "
            f"admin_key={'set' if self.admin_key else None})"
        )
