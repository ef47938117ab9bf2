"""`Cap`: one counted quantity of one entity, the plain value a ledger limit is made from.

A budget is one cap (`usd`, in nano-dollars); a rate limit is one or two (`requests`,
`tokens`); a key's `max_concurrent` is one (`concurrent`). Fields match
`govern.governance.ledger.Limit`, plus `count` (which tokens a `tokens` cap counts).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct

from govern.governance.model import (
    Budget,
    BudgetMode,
    EntityRef,
    RateLimit,
    Reset,
    Tier,
    TokenCount,
    VirtualKey,
    Window,
)

CapKind = Literal["usd", "requests", "tokens", "concurrent"]
NANOS_PER_USD = 1_000_000_000


class Cap(Struct, frozen=True, kw_only=True):
    """One counted quantity of one entity, per window."""

    id: str
    """Stable: a budget's id; a rate limit's id plus `:requests` or `:tokens`; a key's
    `key:<id>:concurrent`. Counters are keyed by it."""
    source_id: str
    """The budget, rate limit (or key, for `concurrent`) it comes from."""
    tier: Tier
    entity_id: str
    """The owner's id (a provider config's is `<key>:<name>`)."""
    kind: CapKind
    amount: int
    """The limit: nano-dollars for `usd`, else a count; 0 admits nothing."""
    period: Reset = "never"
    alignment: Window = "calendar"
    anchor: float = 0.0
    """Epoch seconds rolling windows count from: the budget's or limit's creation."""
    mode: BudgetMode = "reserve"
    count: TokenCount = "total"
    """For `tokens`: which tokens are counted (input + output, input, or output)."""

    @property
    def owner(self) -> EntityRef:
        """The entity holding the cap."""
        return EntityRef(self.tier, self.entity_id)


def usd_to_nanos(usd: Decimal) -> int:
    """Dollars as integer nano-dollars (budgets are validated to whole nano-dollars)."""
    return int(usd * NANOS_PER_USD)


def budget_cap(budget: Budget) -> Cap:
    """The `usd` cap of a budget."""
    return Cap(
        id=budget.id,
        source_id=budget.id,
        tier=budget.owner.kind,
        entity_id=budget.owner.id,
        kind="usd",
        amount=usd_to_nanos(budget.max_usd),
        period=budget.reset,
        alignment=budget.window,
        anchor=budget.created_at.timestamp(),
        mode=budget.mode,
    )


def rate_limit_caps(limit: RateLimit) -> tuple[Cap, ...]:
    """The `requests` and/or `tokens` caps of a rate limit."""
    caps: list[Cap] = []
    for kind, amount in (("requests", limit.requests), ("tokens", limit.tokens)):
        if amount is None:
            continue
        caps.append(
            Cap(
                id=f"{limit.id}:{kind}",
                source_id=limit.id,
                tier=limit.owner.kind,
                entity_id=limit.owner.id,
                kind=kind,  # type: ignore[arg-type]
                amount=amount,
                period=limit.reset,
                alignment=limit.window,
                anchor=limit.created_at.timestamp(),
                count=limit.count,
            )
        )
    return tuple(caps)


def concurrency_cap(key: VirtualKey) -> Cap | None:
    """The `concurrent` cap of a key with `max_concurrent`, else None."""
    if key.max_concurrent is None:
        return None
    return Cap(
        id=f"key:{key.id}:concurrent",
        source_id=key.id,
        tier="key",
        entity_id=key.id,
        kind="concurrent",
        amount=key.max_concurrent,
    )
