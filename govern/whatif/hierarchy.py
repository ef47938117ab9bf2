"""A budget hierarchy for simulation: the `[governance]` config section, turned into the
gateway's own entities by the gateway's own code (`govern.governance.declared`).

    hierarchy = {
        "customers": [{"id": "acme", "budgets": [{"max_usd": 500, "reset": "1M"}]}],
        "teams": [{"id": "eng", "customer": "acme", "budgets": [{"max_usd": 50, "reset": "1d"}]}],
        "virtual_keys": [{"id": "notebook", "team": "eng",
                          "rate_limits": [{"requests": 60, "reset": "1m"}]}],
    }

Keys need no `value` here: nothing authenticates in a simulation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from govern.config import GovernanceConfig, GovernConfig, ProviderConfig
from govern.governance.build import FieldError
from govern.governance.caps import Cap
from govern.governance.declared import declare
from govern.governance.keys import hash_key
from govern.governance.ledger import Limit
from govern.governance.model import Entities
from govern.governance.principal import Principal

Hierarchy = GovernanceConfig | Mapping[str, Any]
"""Customers, teams and virtual keys with their budgets and rate limits, as the
`[governance]` section of a config file declares them (a `GovernanceConfig`, or the same
as a dict, for example decoded from TOML)."""


def governance_section(hierarchy: Hierarchy) -> GovernanceConfig:
    """The hierarchy as a `GovernanceConfig`; ValueError naming a bad field."""
    if isinstance(hierarchy, GovernanceConfig):
        section = msgspec.structs.replace(hierarchy)
    else:
        try:
            section = msgspec.convert(dict(hierarchy), GovernanceConfig, strict=False)
        except msgspec.ValidationError as exc:
            raise ValueError(f"hierarchy: {exc}") from None
    keys = []
    for key in section.virtual_keys:
        value_hash = key.hash or hash_key(key.value or f"simulated:{key.id}")
        keys.append(msgspec.structs.replace(key, value=None, hash=value_hash))
    section.virtual_keys = keys
    return section


def entities_of(hierarchy: Hierarchy, providers: Iterable[str], now: datetime) -> Entities:
    """The entities the hierarchy declares, created at `now` (rolling windows start
    then); `providers` are the provider names its keys' provider configs may name."""
    section = governance_section(hierarchy)
    config = GovernConfig(
        providers={name: ProviderConfig() for name in providers}, governance=section
    )
    try:
        declared = declare(config, now)
    except FieldError as exc:
        raise ValueError(f"hierarchy.{exc.path}: {exc.message}") from None
    return Entities(
        customers={c.id: c for c in declared.customers},
        teams={t.id: t for t in declared.teams},
        keys={k.id: k for k in declared.keys},
        budgets={b.id: b for b in declared.budgets},
        rate_limits={r.id: r for r in declared.rate_limits},
    )


def principal_of(entities: Entities, key: str | None) -> Principal:
    """The principal of virtual key `key` (default: the only one declared)."""
    if key is None:
        if len(entities.keys) != 1:
            names = ", ".join(sorted(entities.keys)) or "none"
            raise ValueError(f"key: name the virtual key the trace uses (declared: {names})")
        key = next(iter(entities.keys))
    found = entities.keys.get(key)
    if found is None:
        raise ValueError(f"key: no virtual key {key!r} in the hierarchy")
    return Principal.build(found, entities)


def limit_of(cap: Cap) -> Limit:
    """The ledger limit of a cap (the same id, so the same counters)."""
    return Limit(
        id=cap.id,
        tier=cap.tier,
        entity_id=cap.entity_id,
        kind=cap.kind,
        amount=cap.amount,
        period=cap.period,
        alignment=cap.alignment,
        anchor=cap.anchor,
        mode=cap.mode,
    )
