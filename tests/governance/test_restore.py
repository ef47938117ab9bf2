"""Rebuilding counters from spend history (the request log), so a restart forgets nothing."""

from __future__ import annotations

from govern.governance.ledger import (
    Admitted,
    Denied,
    Ledger,
    SpendEntry,
    history_start,
    window_totals,
)
from govern.governance.memory_ledger import MemoryLedger
from tests.governance.limits import CENT, NOW, USD, claim, limit, ts

DAILY = limit("daily", USD, period="1d")
MONTHLY = limit("monthly", 10 * USD, period="1M", tier="team", entity_id="eng")
RPM = limit("rpm", 10, kind="requests", period="1m")
CAP = limit("conc", 2, kind="concurrent")

HISTORY: list[SpendEntry] = [
    (ts(2024, 1, 31, 23, 59), {"daily": 7 * CENT, "monthly": 7 * CENT}),  # last month
    (ts(2024, 2, 27, 23, 59, 59), {"daily": 11 * CENT, "monthly": 11 * CENT}),  # yesterday
    (ts(2024, 2, 28, 0, 0), {"daily": 13 * CENT, "monthly": 13 * CENT, "rpm": 1}),
    (ts(2024, 2, 28, 11, 59, 30), {"daily": 17 * CENT, "monthly": 17 * CENT, "rpm": 1}),
    (ts(2024, 2, 28, 12, 0, 0), {"daily": 19 * CENT, "rpm": 1, "conc": 1}),  # key-only
    (ts(2024, 2, 28, 12, 0, 1), {"daily": 23 * CENT}),  # after `now`: not yet
]


def test_window_totals_count_only_the_current_windows() -> None:
    totals = window_totals(HISTORY, [DAILY, MONTHLY, RPM, CAP], NOW)
    # daily: 13 + 17 + 19 = 49 cents; monthly: 11 + 13 + 17 = 41 cents (Feb only);
    # rpm: only the request at 12:00:00 is in the 12:00 minute; concurrent is never restored.
    assert totals == {"daily": 49 * CENT, "monthly": 41 * CENT, "rpm": 1}


async def test_restore_seeds_the_spend_of_the_current_window(ledger: Ledger) -> None:
    seeded = await ledger.restore(HISTORY, [DAILY, MONTHLY, RPM, CAP], NOW)
    assert seeded == {"daily": 49 * CENT, "monthly": 41 * CENT, "rpm": 1}
    usage = await ledger.usage([DAILY, MONTHLY, CAP], NOW)
    assert [u.spent for u in usage.values()] == [49 * CENT, 41 * CENT, 0]


async def test_a_restored_budget_holds_after_a_restart() -> None:
    ledger = MemoryLedger()
    await ledger.restore(HISTORY, [DAILY], NOW)
    # 49 cents spent before the restart: 51 more fit, 52 do not.
    assert isinstance(await ledger.reserve("r1", [claim(DAILY, 52 * CENT)], NOW), Denied)
    assert isinstance(await ledger.reserve("r2", [claim(DAILY, 51 * CENT)], NOW), Admitted)


async def test_restore_leaves_live_counters_alone(ledger: Ledger) -> None:
    await ledger.reserve("r1", [claim(DAILY, 5 * CENT)], NOW)
    await ledger.settle("r1", {}, NOW)
    assert await ledger.restore(HISTORY, [DAILY, MONTHLY], NOW) == {"monthly": 41 * CENT}
    assert (await ledger.usage([DAILY], NOW))["daily"].spent == 5 * CENT


async def test_restore_after_the_window_rolled_starts_empty(ledger: Ledger) -> None:
    tomorrow = ts(2024, 2, 29, 9)
    await ledger.restore(HISTORY, [DAILY], tomorrow)
    assert (await ledger.usage([DAILY], tomorrow))["daily"].spent == 0


def test_history_start_is_the_oldest_current_window() -> None:
    assert history_start([DAILY, MONTHLY, RPM, CAP], NOW) == ts(2024, 2, 1)
    assert history_start([CAP], NOW) is None
