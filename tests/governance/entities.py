"""Helpers for the entity tests: configs with governance sections, a settable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from govern.config import GovernConfig, config_from_dict

T0 = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
ADMIN = "admin-secret-for-tests"
ALICE = "vk-alice-0123456789"
BOB = "vk-bob-0123456789"

PROVIDERS: dict[str, Any] = {
    "sim": {"models": ["gpt-4o-mini", "claude-sonnet-4-5"]},
    "openai": {
        "base_url": "http://127.0.0.1:9/v1",
        "keys": [{"name": "main", "value": "sk-main"}, {"name": "batch", "value": "sk-batch"}],
    },
}


def governance_section(**overrides: Any) -> dict[str, Any]:
    """A customer > team > key hierarchy with a limit on every tier."""
    section: dict[str, Any] = {
        "admin_key": ADMIN,
        "customers": [
            {"id": "acme", "name": "Acme", "budgets": [{"max_usd": "500", "reset": "1M"}]}
        ],
        "teams": [
            {
                "id": "eng",
                "customer": "acme",
                "rate_limits": [{"requests": 600, "reset": "1m"}],
            }
        ],
        "virtual_keys": [
            {
                "id": "alice",
                "value": ALICE,
                "team": "eng",
                "budgets": [{"max_usd": "20", "reset": "1d"}],
                "rate_limits": [{"requests": 60, "tokens": 100_000, "reset": "1m"}],
                "max_concurrent": 4,
                "providers": [
                    {"provider": "sim", "budgets": [{"max_usd": "5", "reset": "1d"}]},
                    {"provider": "openai", "keys": ["main"]},
                ],
            },
            {"id": "bob", "value": BOB, "customer": "acme"},
        ],
    }
    section.update(overrides)
    return section


def make_config(governance: dict[str, Any] | None = None, **extra: Any) -> GovernConfig:
    """A validated config with the test providers and `governance` (default: the tree)."""
    data: dict[str, Any] = {
        "providers": PROVIDERS,
        "governance": governance_section() if governance is None else governance,
        **extra,
    }
    return config_from_dict(data)


@dataclass
class Clock:
    """A clock the test moves (epoch seconds)."""

    now: float = T0.timestamp()

    def __call__(self) -> float:
        return self.now
