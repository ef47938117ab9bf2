"""The ledger: budget and rate-limit counters, reserved before a call and settled after.

A `Limit` is one budget or rate limit bound to one entity. Before an upstream call the
pipeline reserves a worst-case amount on every limit that applies (a `Claim` each) under
one reservation id (the request attempt): all claims are admitted, or none is and the
`Denied` answer names the limit that refused. After the call `settle` replaces the
reservation with the actual amounts; a failure before any token `release`s it.

Semantics shared by every backend:

- Amounts are integers: nano-dollars (`usd`), requests, tokens, or in-flight requests
  (`concurrent`). Limits up to 2**53 (about $9M in nano-dollars) are exact everywhere.
- `reserve` mode (the default) admits a claim when spent + reserved + amount <= limit;
  `optimistic` admits while spent < limit, whatever the amount, and charges after.
  A limit of 0 admits nothing (except a claim of 0 in `reserve` mode on an empty window).
- A rejected reservation changes nothing. Reserving an id that is already held answers
  `Admitted` again without counting twice; reusing a settled or released id is an error.
- `settle` charges the window the reservation was made in, even if it has rolled over
  since (so a request starting at 23:59:59 counts for the day it started, as a restore
  from the request log keyed by start time would count it). Settling twice charges once.
  A limit left out of the actual amounts is charged what was claimed on it.
- A reservation neither settled nor released expires after its TTL: what it held is
  freed (reserved amounts and concurrency slots). Its record stays at least `retention`
  seconds after that, so a late `settle` still charges (without touching what is held);
  finished reservations are remembered as long, for idempotence.
- `concurrent` limits count in-flight reservations; settling or releasing frees the slot
  and charges nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Protocol, get_args

from msgspec import Struct

from govern.governance.windows import NEVER, Alignment, Period, window_bounds

Tier = Literal["customer", "team", "key", "provider"]
LimitKind = Literal["usd", "requests", "tokens", "concurrent"]
LimitMode = Literal["reserve", "optimistic"]
SettleOutcome = Literal["settled", "already_settled", "released", "unknown"]
"""`settled`: this call charged; `already_settled`: an earlier settle did (nothing
charged now); `released`: the reservation was released (nothing charged);
`unknown`: no such reservation (never made, or forgotten after its retention)."""

TIERS: tuple[str, ...] = get_args(Tier)
LIMIT_KINDS: tuple[str, ...] = get_args(LimitKind)
LIMIT_MODES: tuple[str, ...] = get_args(LimitMode)
MAX_AMOUNT = 2**53
"""Largest limit or amount a ledger accepts (Redis's Lua counts in doubles)."""
DEFAULT_RESERVATION_TTL = 900.0
"""Seconds a reservation holds its amounts and slots unless settled or released."""
DEFAULT_RETENTION = 3_600.0
"""Seconds (at least) a finished or lapsed reservation is remembered (for idempotent and
late settles)."""


class LedgerError(Exception):
    """A ledger was used wrongly (a reused reservation id, an invalid amount)."""


class LedgerUnavailable(LedgerError):
    """The ledger's store cannot be reached; the gateway fails closed (503) by default."""


class Limit(Struct, frozen=True, kw_only=True):
    """One budget or rate limit bound to one entity."""

    id: str
    """Stable id: counters are keyed by it, so changing `amount` keeps the window's spend."""
    tier: Tier
    """The kind of entity it is bound to."""
    entity_id: str
    """The entity's id."""
    kind: LimitKind
    """What is counted: `usd` (integer nano-dollars), `requests`, `tokens` or
    `concurrent` (requests in flight)."""
    amount: int
    """The limit, in the unit of `kind`; 0 admits nothing."""
    period: Period = "never"
    """Window length: `1m`, `1h`, `1d`, `1w`, `1M` (calendar month) or `never`.
    Ignored for `concurrent`."""
    alignment: Alignment = "calendar"
    """`calendar` (UTC boundaries) or `rolling` (periods from `anchor`)."""
    anchor: float = 0.0
    """Epoch seconds rolling windows count from (the limit's creation time)."""
    mode: LimitMode = "reserve"
    """`reserve`: a hard cap by reservation; `optimistic`: admit while spent < limit."""

    def __post_init__(self) -> None:
        for name, allowed in (("tier", TIERS), ("kind", LIMIT_KINDS), ("mode", LIMIT_MODES)):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name}: expected one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if not 0 <= self.amount <= MAX_AMOUNT:
            raise ValueError(f"amount: expected 0 to {MAX_AMOUNT}, got {self.amount}")
        window_bounds(self.period, self.alignment, self.anchor, self.anchor)  # validates

    def window(self, now: float) -> tuple[float, float]:
        """The `(start, reset_at)` of the window containing `now` (`concurrent`: never)."""
        if self.kind == "concurrent":
            return 0.0, NEVER
        return window_bounds(self.period, self.alignment, self.anchor, now)


class Claim(Struct, frozen=True):
    """An amount to reserve on one limit."""

    limit: Limit
    amount: int


class LimitUsage(Struct, frozen=True, kw_only=True):
    """A limit's counters in the window containing a moment."""

    limit: Limit
    spent: int
    """Settled in this window (`concurrent`: always 0)."""
    reserved: int
    """Held by open reservations (`concurrent`: requests in flight)."""
    window_start: float
    reset_at: float | None
    """When the window resets (epoch seconds); None when it never does."""

    @property
    def used(self) -> int:
        """Spent plus reserved: what counts against the limit."""
        return self.spent + self.reserved

    @property
    def remaining(self) -> int:
        """What can still be reserved in this window (never negative)."""
        return max(0, self.limit.amount - self.spent - self.reserved)


class Admitted(Struct, frozen=True, kw_only=True):
    """Every claim was reserved."""

    reservation_id: str
    expires_at: float
    """When the reservation lapses unless settled or released."""
    usage: tuple[LimitUsage, ...] = ()
    """Each claimed limit's counters right after the reservation (for rate-limit headers)."""


class Denied(Struct, frozen=True, kw_only=True):
    """A claim was refused; nothing was reserved. Enough for a 402/429 and `Retry-After`."""

    limit: Limit
    """The first limit (in claim order) that refused."""
    spent: int
    """Settled in its current window."""
    reserved: int
    """Held by other open reservations."""
    asked: int
    """The amount this reservation claimed on it."""
    reset_at: float | None
    """When its window resets; None for `never` windows and `concurrent` limits."""

    @property
    def used(self) -> int:
        """Spent plus reserved when refused."""
        return self.spent + self.reserved

    @property
    def is_budget(self) -> bool:
        """A dollar budget refused (402 `budget_exceeded`); else a rate limit (429)."""
        return self.limit.kind == "usd"

    def retry_after(self, now: float) -> int | None:
        """Whole seconds until the window resets (at least 1), or None if it never does."""
        if self.reset_at is None:
            return None
        return max(1, math.ceil(self.reset_at - now))


Reservation = Admitted | Denied

SpendEntry = tuple[float, Mapping[str, int]]
"""One charged request from history: its time (the reservation's, i.e. the request's
start) and the amount charged per limit id."""


class Ledger(Protocol):
    """Budget and rate-limit counters (see the module docstring for the semantics)."""

    async def reserve(
        self,
        reservation_id: str,
        claims: Sequence[Claim],
        now: float,
        *,
        ttl: float | None = None,
    ) -> Admitted | Denied:
        """Reserve every claim, or none; `ttl` overrides the ledger's reservation TTL."""
        ...

    async def settle(
        self, reservation_id: str, actual: Mapping[str, int], now: float
    ) -> SettleOutcome:
        """Replace the reservation with the actual amounts (per limit id); idempotent."""
        ...

    async def release(self, reservation_id: str, now: float) -> bool:
        """Drop a reservation, charging nothing; False if it was not held (idempotent)."""
        ...

    async def usage(self, limits: Iterable[Limit], now: float) -> dict[str, LimitUsage]:
        """Each limit's counters in the window containing `now`, by limit id."""
        ...

    async def restore(
        self, history: Iterable[SpendEntry], limits: Iterable[Limit], now: float
    ) -> dict[str, int]:
        """Seed the current windows of `limits` that have no counters yet from `history`;
        returns the amount seeded per limit id."""
        ...

    async def close(self) -> None:
        """Release connections (a no-op in-process)."""
        ...


def merge_claims(claims: Sequence[Claim]) -> Sequence[Claim]:
    """Claims with one entry per limit id (amounts summed), in first-seen order; checks amounts."""
    for i, claim in enumerate(claims):
        if not 0 <= claim.amount <= MAX_AMOUNT:
            raise LedgerError(f"claims[{i}].amount: expected 0 to {MAX_AMOUNT}, got {claim.amount}")
    if len({claim.limit.id for claim in claims}) == len(claims):
        return claims
    merged: dict[str, Claim] = {}
    for claim in claims:
        prior = merged.get(claim.limit.id)
        merged[claim.limit.id] = (
            claim if prior is None else Claim(claim.limit, prior.amount + claim.amount)
        )
    return list(merged.values())


def window_totals(
    history: Iterable[SpendEntry], limits: Iterable[Limit], now: float
) -> dict[str, int]:
    """What `history` charged each limit in the window containing `now` (by limit id).

    `concurrent` limits are skipped: in-flight requests do not survive a restart.
    """
    bounds = {limit.id: limit.window(now) for limit in limits if limit.kind != "concurrent"}
    totals = dict.fromkeys(bounds, 0)
    for timestamp, amounts in history:
        for limit_id, amount in amounts.items():
            window = bounds.get(limit_id)
            if window is not None and window[0] <= timestamp < window[1] and timestamp <= now:
                totals[limit_id] += amount
    return totals


def history_start(limits: Iterable[Limit], now: float) -> float | None:
    """The earliest start of the current windows of `limits`: the request log from then on
    is all `restore` needs (None when no limit counts spend)."""
    starts = [limit.window(now)[0] for limit in limits if limit.kind != "concurrent"]
    return min(starts, default=None)


def reset_or_none(reset_at: float) -> float | None:
    """`reset_at`, or None for a window that never resets."""
    return None if reset_at == NEVER else reset_at
