"""Entities from their specs (config sections or API bodies), checked field by field.

Shared by the config file and the management API so both accept the same values and
name the same fields: a problem raises `FieldError(path, message)`, which the config
prefixes with `governance.` and the API answers as 400 with `param = path`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from govern.config import BudgetConfig, KeyProviderConfig, ProviderConfig, RateLimitConfig
from govern.governance.model import (
    ENTITY_ID,
    LIMIT_ID,
    Budget,
    EntityRef,
    ProviderGrant,
    RateLimit,
    Source,
    default_budget_id,
    default_rate_limit_id,
)

MAX_COUNT = 2**53
"""Largest limit a ledger holds exactly (Redis's Lua counts in doubles)."""
MAX_USD = Decimal(MAX_COUNT) / 1_000_000_000
_NANO = Decimal("1e-9")


def at(path: str, name: str) -> str:
    """`path.name`, or `name` at the top level (`path` empty)."""
    return f"{path}.{name}" if path else name


class FieldError(ValueError):
    """A spec's field is invalid; `path` names it (`teams[2].customer`)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def check_id(path: str, value: str, pattern: re.Pattern[str] = ENTITY_ID) -> str:
    """`value` if it is a valid id, else FieldError."""
    if not pattern.fullmatch(value):
        allowed = "letters, digits, `_ . -`" + (", `:`" if pattern is LIMIT_ID else "")
        raise FieldError(path, f"{value!r} is not a valid id ({allowed}; at most 128 long)")
    return value


def check_count(path: str, value: int | None) -> None:
    """A count limit: unset, or 0 to 2**53."""
    if value is not None and not 0 <= value <= MAX_COUNT:
        raise FieldError(path, f"must be between 0 and {MAX_COUNT}, got {value}")


def check_models(path: str, models: Sequence[str] | None) -> tuple[str, ...] | None:
    """An allow list (None stays None: inherit or everything)."""
    if models is None:
        return None
    for i, entry in enumerate(models):
        if not entry or entry != entry.strip():
            raise FieldError(f"{path}[{i}]", f"{entry!r} is not a model name or pattern")
    return tuple(dict.fromkeys(models))


def check_usd(path: str, value: Decimal) -> Decimal:
    """A budget amount: a finite number of dollars >= 0 in whole nano-dollars."""
    if not value.is_finite() or value < 0:
        raise FieldError(path, f"must be a number of dollars >= 0, got {value}")
    if value > MAX_USD:
        raise FieldError(path, f"must be at most {MAX_USD}, got {value}")
    if value != value.quantize(_NANO):
        raise FieldError(path, f"{value} is finer than a nano-dollar (9 decimal places)")
    return value


def budget_from(
    path: str,
    spec: BudgetConfig,
    owner: EntityRef,
    source: Source,
    now: datetime,
) -> Budget:
    """A budget of `owner` from its spec."""
    check_usd(at(path, "max_usd"), spec.max_usd)
    budget_id = spec.id or default_budget_id(owner, spec.reset, spec.window)
    check_id(at(path, "id"), budget_id, LIMIT_ID)
    return Budget(
        id=budget_id,
        owner=owner,
        max_usd=spec.max_usd,
        reset=spec.reset,
        window=spec.window,
        mode=spec.mode,
        source=source,
        created_at=now,
        updated_at=now,
    )


def rate_limit_from(
    path: str,
    spec: RateLimitConfig,
    owner: EntityRef,
    source: Source,
    now: datetime,
) -> RateLimit:
    """A rate limit of `owner` from its spec."""
    if spec.requests is None and spec.tokens is None:
        raise FieldError(path or "requests", "set `requests` and/or `tokens`")
    check_count(at(path, "requests"), spec.requests)
    check_count(at(path, "tokens"), spec.tokens)
    limit_id = spec.id or default_rate_limit_id(owner, spec.reset, spec.window)
    check_id(at(path, "id"), limit_id, LIMIT_ID)
    return RateLimit(
        id=limit_id,
        owner=owner,
        requests=spec.requests,
        tokens=spec.tokens,
        count=spec.count,
        reset=spec.reset,
        window=spec.window,
        source=source,
        created_at=now,
        updated_at=now,
    )


def grants_from(
    path: str,
    specs: Sequence[KeyProviderConfig] | None,
    providers: Mapping[str, ProviderConfig],
) -> tuple[ProviderGrant, ...] | None:
    """A key's provider configs; their names unique, providers and keys configured."""
    if specs is None:
        return None
    grants: list[ProviderGrant] = []
    for i, spec in enumerate(specs):
        where = f"{path}[{i}]"
        provider = providers.get(spec.provider)
        if provider is None:
            known = ", ".join(providers) or "none"
            raise FieldError(
                f"{where}.provider", f"unknown provider {spec.provider!r} (configured: {known})"
            )
        name = check_id(f"{where}.name", spec.name or spec.provider)
        if any(g.name == name for g in grants):
            raise FieldError(
                f"{where}.name", f"another provider config of this key is named {name!r}"
            )
        if not math.isfinite(spec.weight) or spec.weight < 0:
            raise FieldError(f"{where}.weight", f"must be a number >= 0, got {spec.weight}")
        known_keys = [k.name for k in provider.keys] or ["anonymous"]
        for j, key_name in enumerate(spec.keys or ()):
            if key_name not in known_keys:
                raise FieldError(
                    f"{where}.keys[{j}]",
                    f"provider {spec.provider!r} has no key {key_name!r} "
                    f"(its keys: {', '.join(known_keys)})",
                )
        grants.append(
            ProviderGrant(
                name=name,
                provider=spec.provider,
                models=check_models(f"{where}.models", spec.models),
                weight=spec.weight,
                keys=None if spec.keys is None else tuple(dict.fromkeys(spec.keys)),
            )
        )
    return tuple(grants)


def limits_from(
    path: str,
    owner: EntityRef,
    budgets: Sequence[BudgetConfig],
    rate_limits: Sequence[RateLimitConfig],
    source: Source,
    now: datetime,
) -> tuple[list[Budget], list[RateLimit]]:
    """An entity's budgets and rate limits from their specs (`path` may be empty)."""
    at = f"{path}." if path else ""
    return (
        [budget_from(f"{at}budgets[{i}]", b, owner, source, now) for i, b in enumerate(budgets)],
        [
            rate_limit_from(f"{at}rate_limits[{i}]", r, owner, source, now)
            for i, r in enumerate(rate_limits)
        ],
    )


def check_unique_limits(
    budgets: Sequence[tuple[str, Budget]], limits: Sequence[tuple[str, RateLimit]]
) -> None:
    """Budget and rate-limit ids are unique together (counters are keyed by them)."""
    seen: dict[str, str] = {}
    items: list[tuple[str, Budget | RateLimit]] = [*budgets, *limits]
    for path, item in items:
        first = seen.setdefault(item.id, path)
        if first != path:
            raise FieldError(
                at(path, "id"),
                f"id {item.id!r} is also used by {first}; give one of them another `id`",
            )
