"""What only the in-process ledger does: forget finished reservations, stay atomic in a loop."""

from __future__ import annotations

from govern.governance.ledger import Admitted
from govern.governance.memory_ledger import MemoryLedger
from tests.governance.limits import CENT, NOW, claim, limit


async def test_a_settled_reservation_is_remembered_for_the_retention() -> None:
    ledger = MemoryLedger(retention=60)
    await ledger.reserve("r1", [claim(limit(), CENT)], NOW)
    await ledger.settle("r1", {}, NOW)
    assert await ledger.settle("r1", {}, NOW + 59) == "already_settled"
    assert await ledger.settle("r1", {}, NOW + 61) == "already_settled"


async def test_a_settled_reservation_is_forgotten_by_twice_the_retention() -> None:
    ledger = MemoryLedger(retention=60)
    budget = limit()
    await ledger.reserve("r1", [claim(budget, CENT)], NOW)
    await ledger.settle("r1", {}, NOW)
    assert await ledger.settle("r1", {}, NOW + 120) == "unknown"
    assert (await ledger.usage([budget], NOW + 120))["b"].spent == CENT


async def test_a_lapsed_reservation_is_forgotten_by_twice_the_retention() -> None:
    ledger = MemoryLedger(reservation_ttl=10, retention=60)
    budget = limit()
    await ledger.reserve("r1", [claim(budget, CENT)], NOW)
    await ledger.usage([budget], NOW + 10)  # lapses here
    assert await ledger.settle("r1", {}, NOW + 130) == "unknown"
    assert (await ledger.usage([budget], NOW + 130))["b"].spent == 0


async def test_an_id_can_be_reused_once_forgotten() -> None:
    ledger = MemoryLedger(retention=60)
    budget = limit()
    await ledger.reserve("r1", [claim(budget, CENT)], NOW)
    await ledger.release("r1", NOW)
    assert isinstance(await ledger.reserve("r1", [claim(budget, CENT)], NOW + 120), Admitted)


async def test_settled_reservations_leave_no_timers_behind() -> None:
    ledger = MemoryLedger()
    budget = limit(amount=10**12)
    for i in range(5_000):
        await ledger.reserve(f"r{i}", [claim(budget, 1)], NOW)
        await ledger.settle(f"r{i}", {}, NOW)
    assert len(ledger._expiries) <= 1_024 + 1  # bounded by requests in flight, not by rate


def test_the_synchronous_calls_are_the_same_ledger() -> None:
    ledger = MemoryLedger()
    budget = limit()
    assert isinstance(ledger.reserve_nowait("r1", [claim(budget, CENT)], NOW), Admitted)
    assert ledger.settle_nowait("r1", {"b": 2 * CENT}, NOW) == "settled"
    assert ledger.release_nowait("r1", NOW) is False
