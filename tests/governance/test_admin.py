"""`Admin` from Python (what `Gateway.admin` offers): CRUD, errors naming the field,
keys shown once, edits that apply at once and survive a restart, usage."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from govern.errors import AuthenticationFailed, GovernError, InvalidRequest
from govern.governance.caps import Cap
from govern.governance.errors import EntityConflict, EntityNotFound
from govern.governance.keys import hash_key
from govern.governance.meters import CapUsage
from govern.governance.service import Governance
from govern.logs.store import DB_FILE
from tests.governance.entities import ALICE, T0, Clock, governance_section, make_config

DAY = 86_400.0
Factory = Callable[..., Awaitable[Governance]]


class FixedUsage:
    """A trivial usage source: counters the test sets, in calendar-day windows."""

    def __init__(self) -> None:
        self.spent: dict[str, int] = {}
        self.reserved: dict[str, int] = {}

    async def usage(self, caps: Sequence[Cap], now: float) -> Mapping[str, CapUsage]:
        start = now - now % DAY
        return {
            c.id: CapUsage(
                spent=self.spent.get(c.id, 0),
                reserved=self.reserved.get(c.id, 0),
                window_start=start,
                reset_at=start + DAY,
            )
            for c in caps
            if c.id in self.spent or c.id in self.reserved
        }


@pytest.fixture
async def open_gov(tmp_path: Path) -> AsyncIterator[Factory]:
    """Start governances on one data directory (a restart is a second one)."""
    opened: list[Governance] = []

    async def start(section: dict[str, Any] | None = None, **kwargs: Any) -> Governance:
        gov = Governance(
            make_config(section), tmp_path, clock=kwargs.pop("clock", Clock()), **kwargs
        )
        await gov.start()
        opened.append(gov)
        return gov

    yield start
    for gov in opened:
        await gov.aclose()


@pytest.fixture
async def gov(open_gov: Factory) -> Governance:
    return await open_gov()


async def test_a_created_key_works_at_once_and_its_value_is_shown_once(gov: Governance) -> None:
    created = await gov.admin.create_key(team="eng", name="notebook")
    assert created.value.startswith("gk-") and created.hint == created.value[:7]
    principal = gov.authenticate(created.value)
    assert principal is not None and principal.customer_id == "acme"
    shown = await gov.admin.key(created.id)
    assert "value" not in type(shown).__struct_fields__
    assert created.value not in repr(await gov.admin.keys())


async def test_only_the_hash_of_a_created_key_is_stored(gov: Governance, tmp_path: Path) -> None:
    created = await gov.admin.create_key(customer="acme")
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        rows = conn.execute("SELECT * FROM governance_virtual_keys WHERE id = ?", (created.id,))
        row = rows.fetchone()
    assert hash_key(created.value) in row
    assert not any(created.value in str(column) for column in row)


async def test_nested_limits_are_created_with_the_key(gov: Governance) -> None:
    created = await gov.admin.create_key(
        id="nb",
        team="eng",
        budgets=[{"max_usd": "2.50", "reset": "1d"}],
        rate_limits=[{"tokens": 5000, "count": "output"}],
        providers=[{"provider": "sim", "budgets": [{"max_usd": 1}]}],
    )
    assert [b.id for b in created.budgets] == ["key:nb:budget:1d"]
    assert created.budgets[0].max_usd == Decimal("2.50")
    assert [r.id for r in created.rate_limits] == ["key:nb:rate:1m"]
    assert created.providers is not None
    assert [b.id for b in created.providers[0].budgets] == ["provider:nb:sim:budget:1M"]


async def test_a_taken_id_is_409(gov: Governance) -> None:
    with pytest.raises(EntityConflict) as info:
        await gov.admin.create_team(id="eng")
    assert (info.value.status, info.value.param) == (409, "id")


async def test_a_taken_budget_id_is_409_naming_the_field(gov: Governance) -> None:
    with pytest.raises(EntityConflict) as info:
        await gov.admin.create_budget(owner="key:alice", max_usd="1", reset="1d")
    assert info.value.param == "id"
    assert "'key:alice:budget:1d' already exists" in info.value.message


async def test_unknown_ids_are_404(gov: Governance) -> None:
    for call in (
        gov.admin.customer("globex"),
        gov.admin.update_team("ops", name="x"),
        gov.admin.delete_key("nobody"),
        gov.admin.budget("nope"),
        gov.admin.update_rate_limit("nope", requests=1),
    ):
        with pytest.raises(EntityNotFound) as info:
            await call
        assert info.value.status == 404


@pytest.mark.parametrize(
    ("call", "fields", "param"),
    [
        ("create_team", {"customer": "globex"}, "customer"),
        ("create_key", {"team": "ops"}, "team"),
        ("create_key", {"team": "eng", "customer": "acme"}, "customer"),
        ("create_key", {"models": ["gpt-4o", ""]}, "models[1]"),
        ("create_key", {"max_concurrent": -1}, "max_concurrent"),
        ("create_key", {"providers": [{"provider": "azure"}]}, "providers[0].provider"),
        ("create_key", {"budgets": [{"max_usd": "-5"}]}, "budgets[0].max_usd"),
        ("create_key", {"budgets": [{"max_usd": "abc"}]}, "budgets[0].max_usd"),
        ("create_key", {"colour": "red"}, "colour"),
        ("create_customer", {"id": "a b"}, "id"),
        ("create_budget", {"owner": "team:ops", "max_usd": "1"}, "owner"),
        ("create_budget", {"owner": "squad:x", "max_usd": "1"}, "owner"),
        ("create_budget", {"max_usd": "1"}, "owner"),
        ("create_budget", {"owner": "team:eng", "max_usd": "1", "reset": "2d"}, "reset"),
        ("create_rate_limit", {"owner": "team:eng"}, "requests"),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    gov: Governance, call: str, fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await getattr(gov.admin, call)(**fields)
    assert info.value.status == 400
    assert info.value.param == param
    assert info.value.message.startswith(f"{param}: ")


async def test_changing_a_budget_keeps_its_id_and_its_spend(gov: Governance) -> None:
    usage = FixedUsage()
    gov.usage = usage
    usage.spent["key:alice:budget:1d"] = 7_500_000_000  # $7.50 spent today
    changed = await gov.admin.update_budget("key:alice:budget:1d", max_usd="30")
    assert (changed.id, changed.max_usd, changed.created_at) == (
        "key:alice:budget:1d",
        Decimal("30"),
        T0,
    )
    [key] = await gov.admin.usage("key:alice")
    budget = next(c for c in key.caps if c.id == "key:alice:budget:1d")
    assert (budget.limit, budget.spent, budget.remaining) == (
        Decimal("30"),
        Decimal("7.5"),
        Decimal("22.5"),  # 30 - 7.50
    )


async def test_usage_reports_counts_and_windows(gov: Governance) -> None:
    usage = FixedUsage()
    gov.usage = usage
    usage.spent["team:eng:rate:1m:requests"] = 590
    usage.reserved["team:eng:rate:1m:requests"] = 4
    [team] = await gov.admin.usage("team:eng")
    [cap] = team.caps
    assert (cap.kind, cap.limit, cap.spent, cap.reserved, cap.remaining) == (
        "requests",
        600,
        590,
        4,
        6,  # 600 - 590 - 4
    )
    assert (
        cap.window_start is not None and cap.window_start.isoformat() == "2025-03-14T00:00:00+00:00"
    )
    assert cap.resets_at is not None and cap.resets_at.isoformat() == "2025-03-15T00:00:00+00:00"


async def test_usage_without_a_ledger_lists_limits_with_null_counters(gov: Governance) -> None:
    entities = await gov.admin.usage()
    assert [u.entity for u in entities] == [
        "customer:acme",
        "team:eng",
        "key:alice",
        "provider:alice:sim",
        "provider:alice:openai",
        "key:bob",
    ]
    alice = entities[2]
    assert [c.id for c in alice.caps] == [
        "key:alice:budget:1d",
        "key:alice:rate:1m:requests",
        "key:alice:rate:1m:tokens",
        "key:alice:concurrent",
    ]
    assert all(c.spent is None and c.remaining is None for c in alice.caps)


async def test_usage_of_a_malformed_or_unknown_entity(gov: Governance) -> None:
    with pytest.raises(InvalidRequest) as bad:
        await gov.admin.usage("eng")
    assert bad.value.param == "entity"
    with pytest.raises(EntityNotFound):
        await gov.admin.usage("team:ops")


async def test_a_key_reads_its_own_limits_on_every_tier(gov: Governance) -> None:
    mine = await gov.admin.key_self(ALICE)
    assert mine.key.id == "alice"
    assert [u.entity for u in mine.usage] == [
        "customer:acme",
        "team:eng",
        "key:alice",
        "provider:alice:sim",
        "provider:alice:openai",
    ]
    with pytest.raises(AuthenticationFailed):
        await gov.admin.key_self("vk-nobody")


async def test_deleting_a_customer_with_teams_is_409(gov: Governance) -> None:
    await gov.admin.create_customer(id="globex")
    await gov.admin.create_team(id="ops", customer="globex")
    with pytest.raises(EntityConflict, match="still owns team 'ops'"):
        await gov.admin.delete_customer("globex")
    await gov.admin.delete_team("ops")
    assert (await gov.admin.delete_customer("globex")).deleted


async def test_entities_declared_in_the_file_are_deleted_there(gov: Governance) -> None:
    with pytest.raises(EntityConflict, match="declared in the config file") as info:
        await gov.admin.delete_key("alice")
    assert info.value.code == "declared_in_config"


async def test_deleting_a_key_deletes_its_limits_and_locks_it_out(gov: Governance) -> None:
    created = await gov.admin.create_key(id="tmp", budgets=[{"max_usd": 1}])
    assert "key:tmp:budget:1M" in {b.id for b in await gov.admin.budgets()}
    await gov.admin.delete_key("tmp")
    assert "key:tmp:budget:1M" not in {b.id for b in await gov.admin.budgets()}
    with pytest.raises(AuthenticationFailed):
        gov.authenticate(created.value)


async def test_moving_a_key_into_a_team_takes_it_out_of_its_customer(gov: Governance) -> None:
    moved = await gov.admin.update_key("bob", team="eng")
    assert (moved.team, moved.customer) == ("eng", None)


async def test_deactivating_a_key_applies_at_once(gov: Governance) -> None:
    await gov.admin.update_key("alice", active=False)
    with pytest.raises(GovernError) as info:
        gov.authenticate(ALICE)
    assert info.value.status == 403


async def test_replacing_provider_configs_drops_the_removed_ones_limits(gov: Governance) -> None:
    updated = await gov.admin.update_key("alice", providers=[{"provider": "openai"}])
    assert updated.providers is not None
    assert [p.name for p in updated.providers] == ["openai"]
    assert "provider:alice:sim:budget:1d" not in {b.id for b in await gov.admin.budgets()}


async def test_provider_limits_are_not_edited_through_the_key(gov: Governance) -> None:
    with pytest.raises(InvalidRequest) as info:
        await gov.admin.update_key(
            "alice", providers=[{"provider": "sim", "budgets": [{"max_usd": 1}]}]
        )
    assert info.value.param == "providers[0].budgets"


async def test_rotating_a_key_retires_the_old_value(gov: Governance) -> None:
    created = await gov.admin.create_key(id="rot")
    rotated = await gov.admin.rotate_key("rot")
    assert rotated.value != created.value
    with pytest.raises(AuthenticationFailed):
        gov.authenticate(created.value)
    assert gov.authenticate(rotated.value) is not None


async def test_rate_limit_edits_keep_one_count(gov: Governance) -> None:
    with pytest.raises(InvalidRequest) as info:
        await gov.admin.update_rate_limit("team:eng:rate:1m", requests=None)
    assert info.value.param == "requests"
    changed = await gov.admin.update_rate_limit("team:eng:rate:1m", tokens=1000)
    assert (changed.requests, changed.tokens) == (600, 1000)


async def test_seed_then_api_edits_then_restart_keeps_them(open_gov: Factory) -> None:
    first = await open_gov()
    created = await first.admin.create_key(id="nb", team="eng")
    await first.admin.update_budget("customer:acme:budget:1M", max_usd="750")
    await first.admin.create_team(id="ops", customer="acme")
    await first.aclose()
    again = await open_gov()
    assert again.authenticate(created.value) is not None
    assert (await again.admin.budget("customer:acme:budget:1M")).max_usd == Decimal("750")
    assert (await again.admin.team("ops")).customer == "acme"


async def test_a_changed_file_wins_over_an_api_edit_of_that_entity(open_gov: Factory) -> None:
    first = await open_gov()
    await first.admin.update_budget("customer:acme:budget:1M", max_usd="750")
    await first.aclose()
    section = governance_section()
    section["customers"][0]["budgets"][0]["max_usd"] = "600"
    again = await open_gov(section)
    assert (await again.admin.budget("customer:acme:budget:1M")).max_usd == Decimal("600")


async def test_another_replica_picks_up_edits_on_refresh(open_gov: Factory) -> None:
    mine, theirs = await open_gov(), await open_gov()
    created = await mine.admin.create_key(customer="acme")
    with pytest.raises(AuthenticationFailed):
        theirs.authenticate(created.value)
    assert await theirs.refresh()
    assert theirs.authenticate(created.value) is not None
    assert not await theirs.refresh()


async def test_no_key_is_accepted_before_the_entities_are_loaded(tmp_path: Path) -> None:
    gov = Governance(make_config(), tmp_path)
    with pytest.raises(GovernError) as info:
        gov.authenticate(ALICE)
    assert info.value.status == 503


async def test_keyword_fields_and_a_body_are_exclusive(gov: Governance) -> None:
    from govern.governance.api import TeamCreate

    with pytest.raises(TypeError):
        await gov.admin.create_team(TeamCreate(id="x"), name="y")
