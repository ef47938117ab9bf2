"""Entities to table rows and back, for both SQL dialects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from govern.governance.model import (
    Budget,
    Customer,
    Entity,
    EntityRef,
    ProviderGrant,
    RateLimit,
    Team,
    VirtualKey,
)
from govern.logs.dialect import Dialect

_COMMON = ("source", "created_at", "updated_at")
_GRANTS = msgspec.json.Decoder(tuple[ProviderGrant, ...])
_NAMES = msgspec.json.Decoder(tuple[str, ...])


def _json(value: object) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


@dataclass(frozen=True, slots=True)
class Table:
    """One entity kind's table: its columns (fingerprint last) and row conversions."""

    name: str
    kind: type[Entity]
    columns: tuple[str, ...]
    to_row: Callable[[Any, Dialect], tuple[Any, ...]]
    from_row: Callable[[tuple[Any, ...], Dialect], Any]

    def select(self) -> str:
        """SQL reading every row, fingerprint last."""
        return f"SELECT {', '.join(self.columns)}, fingerprint FROM {self.name}"

    def upsert(self) -> str:
        """SQL writing a row; a NULL fingerprint keeps the stored one."""
        cols = (*self.columns, "fingerprint")
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns[1:])
        return (
            f"INSERT INTO {self.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}, "
            f"fingerprint = COALESCE(excluded.fingerprint, {self.name}.fingerprint)"
        )

    def delete(self) -> str:
        """SQL deleting a row by id."""
        return f"DELETE FROM {self.name} WHERE id = ?"


def _times(e: Any, d: Dialect) -> tuple[Any, ...]:
    return (e.source, d.ts_param(e.created_at), d.ts_param(e.updated_at))


def _common(v: tuple[Any, ...], d: Dialect) -> dict[str, Any]:
    source, created, updated = v[-3:]
    return {"source": source, "created_at": d.ts_value(created), "updated_at": d.ts_value(updated)}


CUSTOMERS = Table(
    "governance_customers",
    Customer,
    ("id", "name", *_COMMON),
    lambda e, d: (e.id, e.name, *_times(e, d)),
    lambda v, d: Customer(id=v[0], name=v[1], **_common(v, d)),
)

TEAMS = Table(
    "governance_teams",
    Team,
    ("id", "customer_id", "name", *_COMMON),
    lambda e, d: (e.id, e.customer_id, e.name, *_times(e, d)),
    lambda v, d: Team(id=v[0], customer_id=v[1], name=v[2], **_common(v, d)),
)


def _key_row(e: VirtualKey, d: Dialect) -> tuple[Any, ...]:
    expires = None if e.expires_at is None else d.ts_param(e.expires_at)
    return (
        e.id,
        e.key_hash,
        e.hint,
        e.team_id,
        e.customer_id,
        e.name,
        _json(e.models),
        _json(e.providers),
        e.prefer,
        e.active,
        expires,
        e.max_concurrent,
        *_times(e, d),
    )


def _key(v: tuple[Any, ...], d: Dialect) -> VirtualKey:
    return VirtualKey(
        id=v[0],
        key_hash=v[1],
        hint=v[2],
        team_id=v[3],
        customer_id=v[4],
        name=v[5],
        models=None if v[6] is None else _NAMES.decode(v[6]),
        providers=None if v[7] is None else _GRANTS.decode(v[7]),
        prefer=v[8],
        active=bool(v[9]),
        expires_at=None if v[10] is None else d.ts_value(v[10]),
        max_concurrent=v[11],
        **_common(v, d),
    )


KEYS = Table(
    "governance_virtual_keys",
    VirtualKey,
    (
        "id",
        "key_hash",
        "hint",
        "team_id",
        "customer_id",
        "name",
        "models",
        "providers",
        "prefer",
        "active",
        "expires_at",
        "max_concurrent",
        *_COMMON,
    ),
    _key_row,
    _key,
)

BUDGETS = Table(
    "governance_budgets",
    Budget,
    ("id", "owner_kind", "owner_id", "max_usd", "reset_period", "window_kind", "mode", *_COMMON),
    lambda e, d: (
        e.id,
        e.owner.kind,
        e.owner.id,
        str(e.max_usd),
        e.reset,
        e.window,
        e.mode,
        *_times(e, d),
    ),
    lambda v, d: Budget(
        id=v[0],
        owner=EntityRef(v[1], v[2]),
        max_usd=Decimal(v[3]),
        reset=v[4],
        window=v[5],
        mode=v[6],
        **_common(v, d),
    ),
)

RATE_LIMITS = Table(
    "governance_rate_limits",
    RateLimit,
    (
        "id",
        "owner_kind",
        "owner_id",
        "requests",
        "tokens",
        "token_count",
        "reset_period",
        "window_kind",
        *_COMMON,
    ),
    lambda e, d: (
        e.id,
        e.owner.kind,
        e.owner.id,
        e.requests,
        e.tokens,
        e.count,
        e.reset,
        e.window,
        *_times(e, d),
    ),
    lambda v, d: RateLimit(
        id=v[0],
        owner=EntityRef(v[1], v[2]),
        requests=None if v[3] is None else int(v[3]),
        tokens=None if v[4] is None else int(v[4]),
        count=v[5],
        reset=v[6],
        window=v[7],
        **_common(v, d),
    ),
)

TABLES: tuple[Table, ...] = (CUSTOMERS, TEAMS, KEYS, BUDGETS, RATE_LIMITS)
"""Owners before what they own."""
_BY_KIND = {t.kind: t for t in TABLES}


def table_of(entity: Entity) -> Table:
    """The table an entity is kept in."""
    return _BY_KIND[type(entity)]
