"""Concurrency caps: a slot per in-flight request, freed by settle, release, timeout or cancel.

Each test runs against the in-process ledger and against a real Redis server.
"""

from __future__ import annotations

import asyncio

import pytest

from govern.governance.ledger import Admitted, Denied, Ledger
from tests.governance.limits import NOW, claim, limit

CAP = limit("key:k1:concurrent", 2, kind="concurrent")


async def fill(ledger: Ledger, *ids: str, ttl: float | None = None) -> None:
    for rid in ids:
        assert isinstance(await ledger.reserve(rid, [claim(CAP, 1)], NOW, ttl=ttl), Admitted)


async def test_a_full_cap_denies_the_next_request(ledger: Ledger) -> None:
    await fill(ledger, "r1", "r2")
    denied = await ledger.reserve("r3", [claim(CAP, 1)], NOW)
    assert isinstance(denied, Denied)
    assert (denied.reserved, denied.reset_at, denied.is_budget) == (2, None, False)


async def test_settle_frees_a_slot_and_charges_nothing(ledger: Ledger) -> None:
    await fill(ledger, "r1", "r2")
    await ledger.settle("r1", {CAP.id: 5}, NOW + 1)
    usage = (await ledger.usage([CAP], NOW + 1))[CAP.id]
    assert (usage.spent, usage.reserved, usage.remaining) == (0, 1, 1)
    assert isinstance(await ledger.reserve("r3", [claim(CAP, 1)], NOW + 1), Admitted)


async def test_release_frees_a_slot(ledger: Ledger) -> None:
    await fill(ledger, "r1", "r2")
    await ledger.release("r2", NOW + 1)
    assert isinstance(await ledger.reserve("r3", [claim(CAP, 1)], NOW + 1), Admitted)


async def test_a_slot_is_freed_when_its_reservation_times_out(ledger: Ledger) -> None:
    await fill(ledger, "r1", "r2", ttl=60)
    assert isinstance(await ledger.reserve("r3", [claim(CAP, 1)], NOW + 59), Denied)
    assert (await ledger.usage([CAP], NOW + 60))[CAP.id].reserved == 0
    assert isinstance(await ledger.reserve("r4", [claim(CAP, 1)], NOW + 60), Admitted)


async def test_a_slot_is_not_freed_twice_by_timeout_and_release(ledger: Ledger) -> None:
    await fill(ledger, "r1", ttl=10)
    await fill(ledger, "r2")
    await ledger.usage([CAP], NOW + 10)  # r1 times out
    assert await ledger.release("r1", NOW + 11) is False
    usage = (await ledger.usage([CAP], NOW + 11))[CAP.id]
    assert usage.reserved == 1  # r2 still holds its slot


async def test_a_cancelled_request_frees_its_slot(ledger: Ledger) -> None:
    started = asyncio.Event()

    async def request(rid: str) -> None:
        assert isinstance(await ledger.reserve(rid, [claim(CAP, 1)], NOW), Admitted)
        try:
            started.set()
            await asyncio.Event().wait()  # the upstream call, forever
        finally:
            await ledger.release(rid, NOW)

    await fill(ledger, "r1")
    task = asyncio.create_task(request("r2"))
    await started.wait()
    assert isinstance(await ledger.reserve("r3", [claim(CAP, 1)], NOW), Denied)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(await ledger.reserve("r4", [claim(CAP, 1)], NOW), Admitted)


async def test_a_denied_budget_takes_no_slot(ledger: Ledger) -> None:
    budget = limit("b", 0)
    assert isinstance(await ledger.reserve("r1", [claim(CAP, 1), claim(budget, 1)], NOW), Denied)
    assert (await ledger.usage([CAP], NOW))[CAP.id].reserved == 0
