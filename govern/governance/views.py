"""Entities as the management API shows them (`govern.governance.api` Structs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from govern.governance.api import (
    BudgetOut,
    CacheUsageOut,
    CapUsageOut,
    CustomerOut,
    EntityUsage,
    KeyOut,
    ProviderConfigOut,
    RateLimitOut,
    TeamOut,
)
from govern.governance.caps import NANOS_PER_USD, Cap
from govern.governance.meters import CacheReading, CapUsage
from govern.governance.model import (
    Budget,
    Customer,
    Entities,
    EntityRef,
    RateLimit,
    Team,
    VirtualKey,
)


def budget_out(b: Budget) -> BudgetOut:
    """A budget's view."""
    return BudgetOut(
        id=b.id,
        owner=str(b.owner),
        max_usd=b.max_usd,
        reset=b.reset,
        window=b.window,
        mode=b.mode,
        source=b.source,
        created_at=b.created_at,
        updated_at=b.updated_at,
    )


def rate_limit_out(r: RateLimit) -> RateLimitOut:
    """A rate limit's view."""
    return RateLimitOut(
        id=r.id,
        owner=str(r.owner),
        requests=r.requests,
        tokens=r.tokens,
        count=r.count,
        reset=r.reset,
        window=r.window,
        source=r.source,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _limits(e: Entities, ref: EntityRef) -> tuple[list[BudgetOut], list[RateLimitOut]]:
    return (
        [budget_out(b) for b in e.budgets_of(ref)],
        [rate_limit_out(r) for r in e.rate_limits_of(ref)],
    )


def customer_out(e: Entities, c: Customer) -> CustomerOut:
    """A customer's view with its limits."""
    budgets, limits = _limits(e, EntityRef("customer", c.id))
    return CustomerOut(
        id=c.id,
        name=c.name,
        source=c.source,
        created_at=c.created_at,
        updated_at=c.updated_at,
        budgets=budgets,
        rate_limits=limits,
    )


def team_out(e: Entities, t: Team) -> TeamOut:
    """A team's view with its limits."""
    budgets, limits = _limits(e, EntityRef("team", t.id))
    return TeamOut(
        id=t.id,
        customer=t.customer_id,
        name=t.name,
        source=t.source,
        created_at=t.created_at,
        updated_at=t.updated_at,
        budgets=budgets,
        rate_limits=limits,
    )


def key_fields(e: Entities, k: VirtualKey) -> dict[str, object]:
    """A key's view as keyword arguments (for `KeyOut` and `CreatedKey`)."""
    budgets, limits = _limits(e, k.ref)
    providers = None
    if k.providers is not None:
        providers = []
        for g in k.providers:
            g_budgets, g_limits = _limits(e, EntityRef.grant(k.id, g.name))
            providers.append(
                ProviderConfigOut(
                    name=g.name,
                    provider=g.provider,
                    models=None if g.models is None else list(g.models),
                    weight=g.weight,
                    keys=None if g.keys is None else list(g.keys),
                    budgets=g_budgets,
                    rate_limits=g_limits,
                )
            )
    return {
        "id": k.id,
        "hint": k.hint,
        "team": k.team_id,
        "customer": k.customer_id,
        "name": k.name,
        "models": None if k.models is None else list(k.models),
        "providers": providers,
        "prefer": k.prefer,
        "active": k.active,
        "expires_at": k.expires_at,
        "max_concurrent": k.max_concurrent,
        "source": k.source,
        "created_at": k.created_at,
        "updated_at": k.updated_at,
        "budgets": budgets,
        "rate_limits": limits,
    }


def key_out(e: Entities, k: VirtualKey) -> KeyOut:
    """A key's view with its limits and its provider configs' (never value or hash)."""
    return KeyOut(**key_fields(e, k))  # type: ignore[arg-type]


def _amount(cap: Cap, value: int) -> Decimal | int:
    return Decimal(value) / NANOS_PER_USD if cap.kind == "usd" else value


def _time(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def cap_usage_out(cap: Cap, usage: CapUsage | None, known: bool) -> CapUsageOut:
    """A cap's use; `known` False (no ledger) leaves the counters null."""
    if not known:
        return CapUsageOut(
            id=cap.id,
            source_id=cap.source_id,
            kind=cap.kind,
            limit=_amount(cap, cap.amount),
            spent=None,
            reserved=None,
            remaining=None,
            window_start=None,
            resets_at=None,
        )
    spent = usage.spent if usage else 0
    reserved = usage.reserved if usage else 0
    return CapUsageOut(
        id=cap.id,
        source_id=cap.source_id,
        kind=cap.kind,
        limit=_amount(cap, cap.amount),
        spent=_amount(cap, spent),
        reserved=_amount(cap, reserved),
        remaining=_amount(cap, max(0, cap.amount - spent - reserved)),
        window_start=_time(usage.window_start) if usage else None,
        resets_at=_time(usage.reset_at) if usage else None,
    )


def cache_usage_out(scope: str, reading: CacheReading) -> CacheUsageOut:
    """A cache partition's statistics."""
    return CacheUsageOut(
        scope=scope,
        entries=reading.entries,
        hits=reading.exact_hits + reading.semantic_hits,
        exact_hits=reading.exact_hits,
        semantic_hits=reading.semantic_hits,
        misses=reading.misses,
        saved_usd=Decimal(reading.saved_nanos) / NANOS_PER_USD,
    )


def entity_usage(
    groups: Sequence[tuple[EntityRef, Sequence[Cap]]],
    usage: Mapping[str, CapUsage] | None,
    cache: Mapping[str, CacheReading] | None = None,
) -> list[EntityUsage]:
    """Caps grouped by entity with their use (`usage` None: no ledger attached), and the
    entity's cache partition when `cache` has it."""
    out = []
    for ref, caps in groups:
        entity = str(ref)
        reading = None if cache is None else cache.get(entity)
        out.append(
            EntityUsage(
                entity=entity,
                caps=[
                    cap_usage_out(c, None if usage is None else usage.get(c.id), usage is not None)
                    for c in caps
                ],
                cache=None if reading is None else cache_usage_out(entity, reading),
            )
        )
    return out
