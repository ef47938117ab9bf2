"""Reserve, settle, release and usage: the contract every ledger backend keeps.

Each test runs against the in-process ledger and against a real Redis server.
"""

from __future__ import annotations

from typing import Any

import pytest

from govern.governance.ledger import Admitted, Denied, Ledger, LedgerError, Limit
from tests.governance.limits import CENT, NOW, USD, claim, limit, ts


async def spent(ledger: Ledger, *limits: Limit, now: float = NOW) -> list[int]:
    """The `spent` of each limit at `now`."""
    found = await ledger.usage(limits, now)
    return [found[lim.id].spent for lim in limits]


async def test_reserve_within_the_limit_is_admitted(ledger: Ledger) -> None:
    budget = limit()
    result = await ledger.reserve("r1", [claim(budget, 30 * CENT)], NOW)
    assert isinstance(result, Admitted)
    assert result.expires_at == NOW + 30
    usage = (await ledger.usage([budget], NOW))["b"]
    assert (usage.spent, usage.reserved, usage.remaining) == (0, 30 * CENT, 70 * CENT)


async def test_admitted_reports_the_counters_after_reserving(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 10 * CENT)], NOW)
    result = await ledger.reserve("r2", [claim(budget, 20 * CENT)], NOW)
    assert isinstance(result, Admitted)
    (usage,) = result.usage
    assert (usage.reserved, usage.remaining) == (30 * CENT, 70 * CENT)
    assert (usage.window_start, usage.reset_at) == (ts(2024, 2, 28), ts(2024, 2, 29))


async def test_a_reservation_filling_the_limit_exactly_is_admitted(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    assert isinstance(await ledger.reserve("r2", [claim(budget, 40 * CENT)], NOW), Admitted)


async def test_over_the_limit_is_denied_naming_it(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    await ledger.settle("r1", {"b": 50 * CENT}, NOW)
    await ledger.reserve("r2", [claim(budget, 30 * CENT)], NOW)
    denied = await ledger.reserve("r3", [claim(budget, 21 * CENT)], NOW)
    # $0.50 spent + $0.30 reserved + $0.21 asked = $1.01 > $1.00
    assert denied == Denied(
        limit=budget, spent=50 * CENT, reserved=30 * CENT, asked=21 * CENT, reset_at=ts(2024, 2, 29)
    )
    assert denied.is_budget
    assert denied.retry_after(NOW) == 12 * 3600


async def test_a_denied_reservation_consumes_nothing(ledger: Ledger) -> None:
    budget = limit()
    assert isinstance(await ledger.reserve("r1", [claim(budget, 2 * USD)], NOW), Denied)
    usage = (await ledger.usage([budget], NOW))["b"]
    assert (usage.spent, usage.reserved) == (0, 0)
    assert isinstance(await ledger.reserve("r2", [claim(budget, USD)], NOW), Admitted)


async def test_reservation_is_all_or_nothing_across_tiers(ledger: Ledger) -> None:
    customer = limit("c", 100 * USD, tier="customer", entity_id="acme")
    team = limit("t", 10 * USD, tier="team", entity_id="eng")
    key = limit("k", 5 * CENT, tier="key", entity_id="alice")
    claims = [claim(customer, 6 * CENT), claim(team, 6 * CENT), claim(key, 6 * CENT)]
    denied = await ledger.reserve("r1", claims, NOW)
    assert isinstance(denied, Denied)
    assert denied.limit == key
    usage = await ledger.usage([customer, team, key], NOW)
    assert [u.reserved for u in usage.values()] == [0, 0, 0]


async def test_the_first_refusing_limit_in_claim_order_is_named(ledger: Ledger) -> None:
    team = limit("t", 0, tier="team")
    key = limit("k", 0)
    denied = await ledger.reserve("r1", [claim(team, 1), claim(key, 1)], NOW)
    assert isinstance(denied, Denied)
    assert denied.limit == team


async def test_a_zero_limit_admits_nothing(ledger: Ledger) -> None:
    requests = limit("rq", 0, kind="requests", period="1m")
    assert isinstance(await ledger.reserve("r1", [claim(requests, 1)], NOW), Denied)


async def test_claims_on_the_same_limit_are_added_up(ledger: Ledger) -> None:
    budget = limit()
    denied = await ledger.reserve("r1", [claim(budget, 60 * CENT), claim(budget, 60 * CENT)], NOW)
    assert isinstance(denied, Denied)
    assert denied.asked == 120 * CENT


async def test_settle_replaces_the_reservation_with_the_actual_amount(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    assert await ledger.settle("r1", {"b": 12 * CENT}, NOW + 1) == "settled"
    usage = (await ledger.usage([budget], NOW + 1))["b"]
    assert (usage.spent, usage.reserved, usage.remaining) == (12 * CENT, 0, 88 * CENT)


async def test_settle_charges_the_claim_for_a_limit_left_out(ledger: Ledger) -> None:
    budget = limit()
    requests = limit("rq", 100, kind="requests", period="1m")
    await ledger.reserve("r1", [claim(budget, 60 * CENT), claim(requests, 1)], NOW)
    await ledger.settle("r1", {"b": 12 * CENT}, NOW)
    assert await spent(ledger, budget, requests) == [12 * CENT, 1]


async def test_settling_twice_charges_once(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    await ledger.settle("r1", {"b": 12 * CENT}, NOW)
    assert await ledger.settle("r1", {"b": 12 * CENT}, NOW) == "already_settled"
    assert await spent(ledger, budget) == [12 * CENT]


async def test_settling_an_unknown_reservation_charges_nothing(ledger: Ledger) -> None:
    assert await ledger.settle("nope", {"b": 12 * CENT}, NOW) == "unknown"
    assert await spent(ledger, limit()) == [0]


async def test_a_negative_charge_is_refused(ledger: Ledger) -> None:
    await ledger.reserve("r1", [claim(limit(), CENT)], NOW)
    with pytest.raises(LedgerError, match="actual"):
        await ledger.settle("r1", {"b": -1}, NOW)


async def test_release_frees_the_reservation(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    assert await ledger.release("r1", NOW) is True
    usage = (await ledger.usage([budget], NOW))["b"]
    assert (usage.spent, usage.reserved) == (0, 0)


async def test_release_is_idempotent(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    await ledger.release("r1", NOW)
    assert await ledger.release("r1", NOW) is False
    assert (await ledger.usage([budget], NOW))["b"].reserved == 0


async def test_settle_after_release_charges_nothing(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    await ledger.release("r1", NOW)
    assert await ledger.settle("r1", {"b": 12 * CENT}, NOW) == "released"
    assert await spent(ledger, budget) == [0]


async def test_release_after_settle_keeps_the_charge(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    await ledger.settle("r1", {"b": 12 * CENT}, NOW)
    assert await ledger.release("r1", NOW) is False
    assert await spent(ledger, budget) == [12 * CENT]


async def test_reserving_a_held_id_again_counts_once(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW)
    again = await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW + 1)
    assert isinstance(again, Admitted)
    assert again.expires_at == NOW + 30
    assert (await ledger.usage([budget], NOW))["b"].reserved == 60 * CENT


async def test_reusing_a_settled_id_is_an_error(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, CENT)], NOW)
    await ledger.settle("r1", {}, NOW)
    with pytest.raises(LedgerError, match="already used"):
        await ledger.reserve("r1", [claim(budget, CENT)], NOW)


async def test_an_empty_reservation_is_admitted(ledger: Ledger) -> None:
    assert isinstance(await ledger.reserve("r1", [], NOW), Admitted)
    assert await ledger.settle("r1", {}, NOW) == "settled"


# --- modes and kinds ----------------------------------------------------------------------


async def test_optimistic_admits_while_spent_is_under_the_limit(ledger: Ledger) -> None:
    budget = limit(mode="optimistic")
    await ledger.reserve("r1", [claim(budget, 90 * CENT)], NOW)
    await ledger.settle("r1", {"b": 90 * CENT}, NOW)
    # $0.90 spent < $1.00: admitted although $0.90 + $0.50 is over; charged in full after.
    assert isinstance(await ledger.reserve("r2", [claim(budget, 50 * CENT)], NOW), Admitted)
    await ledger.settle("r2", {"b": 50 * CENT}, NOW)
    assert await spent(ledger, budget) == [140 * CENT]
    denied = await ledger.reserve("r3", [claim(budget, 1)], NOW)
    assert isinstance(denied, Denied)
    assert denied.spent == 140 * CENT


async def test_requests_per_minute_deny_until_the_next_minute(ledger: Ledger) -> None:
    rpm = limit("rpm", 2, kind="requests", period="1m")
    now = ts(2024, 2, 28, 12, 0, 45)
    for rid in ("r1", "r2"):
        await ledger.reserve(rid, [claim(rpm, 1)], now)
        await ledger.settle(rid, {}, now)
    denied = await ledger.reserve("r3", [claim(rpm, 1)], now)
    assert isinstance(denied, Denied)
    assert not denied.is_budget
    assert (denied.reset_at, denied.retry_after(now)) == (ts(2024, 2, 28, 12, 1), 15)
    assert isinstance(await ledger.reserve("r4", [claim(rpm, 1)], now + 15), Admitted)


async def test_a_never_window_has_no_reset(ledger: Ledger) -> None:
    prepaid = limit("p", USD, period="never")
    denied = await ledger.reserve("r1", [claim(prepaid, 2 * USD)], NOW)
    assert isinstance(denied, Denied)
    assert (denied.reset_at, denied.retry_after(NOW)) == (None, None)
    assert (await ledger.usage([prepaid], NOW))["p"].reset_at is None


async def test_raising_a_limit_keeps_its_spend(ledger: Ledger) -> None:
    await ledger.reserve("r1", [claim(limit(), 80 * CENT)], NOW)
    await ledger.settle("r1", {}, NOW)
    raised = limit(amount=2 * USD)
    assert isinstance(await ledger.reserve("r2", [claim(raised, USD)], NOW), Admitted)
    denied = await ledger.reserve("r3", [claim(raised, 21 * CENT)], NOW)
    assert isinstance(denied, Denied)
    assert denied.used == 180 * CENT


# --- windows over time --------------------------------------------------------------------


async def test_a_window_rolls_over_at_its_boundary(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, USD)], NOW)
    await ledger.settle("r1", {}, NOW)
    before_midnight = ts(2024, 2, 28, 23, 59, 59)
    assert isinstance(await ledger.reserve("r2", [claim(budget, 1)], before_midnight), Denied)
    midnight = ts(2024, 2, 29)
    usage = (await ledger.usage([budget], midnight))["b"]
    assert (usage.spent, usage.window_start, usage.reset_at) == (0, midnight, ts(2024, 3, 1))
    assert isinstance(await ledger.reserve("r3", [claim(budget, USD)], midnight), Admitted)


async def test_settle_after_rollover_charges_the_window_reserved_in(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], ts(2024, 2, 28, 23, 59, 59))
    after = ts(2024, 2, 29, 0, 0, 30)
    assert (await ledger.usage([budget], after))["b"].reserved == 0
    assert await ledger.settle("r1", {"b": 50 * CENT}, after) == "settled"
    assert await spent(ledger, budget, now=after) == [0]
    assert isinstance(await ledger.reserve("r2", [claim(budget, USD)], after), Admitted)


async def test_a_lapsed_reservation_frees_its_amount(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW, ttl=10)
    assert isinstance(await ledger.reserve("r2", [claim(budget, 60 * CENT)], NOW + 9.9), Denied)
    assert isinstance(await ledger.reserve("r3", [claim(budget, 60 * CENT)], NOW + 10), Admitted)


async def test_a_late_settle_still_charges(ledger: Ledger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, 60 * CENT)], NOW, ttl=10)
    await ledger.reserve("r2", [claim(budget, 10 * CENT)], NOW + 20)  # r1 lapsed by now
    assert await ledger.settle("r1", {"b": 25 * CENT}, NOW + 30) == "settled"
    usage = (await ledger.usage([budget], NOW + 30))["b"]
    assert (usage.spent, usage.reserved) == (25 * CENT, 10 * CENT)


async def test_usage_of_an_untouched_limit_is_empty(ledger: Ledger) -> None:
    weekly = limit("w", 5 * USD, period="1w")
    usage = (await ledger.usage([weekly], NOW))["w"]
    assert (usage.spent, usage.reserved, usage.remaining) == (0, 0, 5 * USD)
    assert (usage.window_start, usage.reset_at) == (ts(2024, 2, 26), ts(2024, 3, 4))


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"amount": -1}, "amount"),
        ({"amount": 2**53 + 1}, "amount"),
        ({"kind": "euros"}, "kind"),
        ({"tier": "org"}, "tier"),
        ({"mode": "lenient"}, "mode"),
        ({"period": "2d"}, "period"),
        ({"alignment": "sliding"}, "alignment"),
    ],
)
def test_an_invalid_limit_names_its_field(fields: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        limit(**fields)


def test_retry_after_is_at_least_a_second() -> None:
    denied = Denied(limit=limit(), spent=0, reserved=0, asked=1, reset_at=NOW + 0.2)
    assert denied.retry_after(NOW) == 1
