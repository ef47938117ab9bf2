"""Limits and clocks shared by the ledger tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from govern.governance.ledger import Claim, Limit

USD = 1_000_000_000
"""One dollar in nano-dollars."""
CENT = USD // 100


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a UTC date and time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


NOW = ts(2024, 2, 28, 12)
"""A Wednesday noon, the day before a leap day."""


def limit(id: str = "b", amount: int = USD, **fields: Any) -> Limit:
    """A daily key budget of $1 unless told otherwise."""
    values: dict[str, Any] = {"tier": "key", "entity_id": "k1", "kind": "usd", "period": "1d"}
    values.update(fields)
    return Limit(id=id, amount=amount, **values)


def claim(of: Limit, amount: int) -> Claim:
    """A claim of `amount` on `of`."""
    return Claim(of, amount)
