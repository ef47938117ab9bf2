"""`UsageSource`: what the management API asks the ledger ("usage of these caps now").

The gateway plugs its ledger in; `Admin` works without one (counters then read null).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from msgspec import Struct

from govern.governance.caps import Cap


class CapUsage(Struct, frozen=True, kw_only=True):
    """One cap's counters in the window containing a moment."""

    spent: int
    """Settled in the window: nano-dollars for `usd`, else a count (`concurrent`: 0)."""
    reserved: int
    """Held by open reservations (`concurrent`: requests in flight)."""
    window_start: float
    """Epoch seconds."""
    reset_at: float | None
    """Epoch seconds when the window resets; None if it never does."""


class UsageSource(Protocol):
    """Reads the counters of caps (the ledger, adapted)."""

    async def usage(self, caps: Sequence[Cap], now: float) -> Mapping[str, CapUsage]:
        """Each cap's counters at `now`, by cap id; a cap left out has counted nothing."""
        ...
