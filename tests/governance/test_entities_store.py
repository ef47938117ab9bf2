"""The entity store's contract, on SQLite and a real PostgreSQL server: migrations,
seeding from the config file, edits, restarts, and what a second replica sees."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from govern.errors import ConfigError
from govern.governance import schema
from govern.governance.database import Database, PostgresDatabase, SQLiteDatabase
from govern.governance.declared import declare
from govern.governance.model import Budget, EntityRef, Team
from govern.governance.store import Changes, EntityStore, IntegrityProblem
from govern.logs import PostgresStore, SQLiteStore
from govern.logs.migrations import Migration
from tests.governance.entities import T0, governance_section, make_config
from tests.postgres import PostgresServer, PostgresUnavailable, start_server

T1 = T0 + timedelta(days=3)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    """A temporary PostgreSQL cluster for this module (skips, saying why, if impossible)."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Location:
    """One database (a SQLite file or a PostgreSQL database) that stores open onto."""

    kind: str
    where: str
    opened: list[Database] = field(default_factory=list)

    def database(self, **kwargs: Any) -> Database:
        db: Database
        if self.kind == "sqlite":
            db = SQLiteDatabase(self.where, **kwargs)
        else:
            db = PostgresDatabase(self.where, **kwargs)
        self.opened.append(db)
        return db

    def store(self) -> EntityStore:
        return EntityStore(self.database())

    def log_store(self) -> SQLiteStore | PostgresStore:
        return SQLiteStore(self.where) if self.kind == "sqlite" else PostgresStore(self.where)


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Location]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        loc = Location("sqlite", str(tmp_path / "requests.db"))
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        loc = Location("postgres", server.dsn(server.create_database()))
    yield loc
    for db in loc.opened:
        db.close()


def seed(store: EntityStore, section: dict[str, Any] | None = None, at: Any = T0) -> Any:
    declared = declare(make_config(section or governance_section()), at)
    return store.seed(declared, at)


def test_migrations_run_once_and_are_recorded(location: Location) -> None:
    location.store()
    location.store()
    with location.database().transaction(write=False) as tx:
        rows = tx.run("SELECT version, description FROM governance_schema_version")
    assert [r[0] for r in rows] == [1]


def test_a_newer_schema_is_refused(location: Location) -> None:
    step = Migration(2, "from the future", ("CREATE TABLE governance_future (id TEXT)",))
    location.database(migrations=(*schema.MIGRATIONS, step))
    with pytest.raises(ConfigError, match="schema version 2, newer than this govern knows"):
        location.database()


def test_entities_live_beside_the_request_log(location: Location) -> None:
    log = location.log_store()
    try:
        seed(location.store())
        assert log.schema_version() >= 1
        _, rows = log.fetch("SELECT COUNT(*) FROM governance_customers")
        assert rows[0][0] == 1
    finally:
        log.close()


def test_seeded_entities_round_trip_every_field(location: Location) -> None:
    section = governance_section()
    section["virtual_keys"][1].update(
        models=[], max_concurrent=0, active=False, expires_at="2026-01-01T00:00:00+02:00"
    )
    section["customers"][0]["budgets"][0]["max_usd"] = "123.456789012"
    seeded = seed(location.store(), section)
    loaded = location.store().load()
    assert loaded == seeded
    assert loaded.budgets["customer:acme:budget:1M"].max_usd == Decimal("123.456789012")
    bob, alice = loaded.keys["bob"], loaded.keys["alice"]
    assert (bob.models, bob.max_concurrent, bob.active) == ((), 0, False)
    assert bob.expires_at is not None and bob.expires_at.isoformat() == "2025-12-31T22:00:00+00:00"
    assert (alice.models, alice.expires_at, bob.providers) == (None, None, None)
    assert [(g.name, g.keys) for g in alice.grants] == [("sim", None), ("openai", ("main",))]
    assert loaded.budgets["key:alice:budget:1d"].created_at == T0


def test_seeding_the_same_file_again_changes_nothing(location: Location) -> None:
    first = seed(location.store())
    assert first.revision == 1
    assert seed(location.store(), at=T1).revision == 1


def test_api_edits_survive_a_restart_with_the_same_file(location: Location) -> None:
    seed(location.store())

    def raise_budget(e: Any) -> tuple[Changes, None]:
        budget = e.budgets["key:alice:budget:1d"]
        return Changes(put=[msgspec.structs.replace(budget, max_usd=Decimal("35"))]), None

    location.store().edit(raise_budget)
    restarted = seed(location.store(), at=T1)
    assert restarted.budgets["key:alice:budget:1d"].max_usd == Decimal("35")


def test_a_changed_declaration_overwrites_that_entity_only(location: Location) -> None:
    seed(location.store())

    def rename_team(e: Any) -> tuple[Changes, None]:
        return Changes(put=[msgspec.structs.replace(e.teams["eng"], name="Platform")]), None

    location.store().edit(rename_team)
    section = governance_section()
    section["virtual_keys"][0]["budgets"][0]["max_usd"] = "25"
    after = seed(location.store(), section, at=T1)
    budget = after.budgets["key:alice:budget:1d"]
    # Same id, so the spend the ledger keeps under it carries over; created_at (the
    # anchor of rolling windows) is kept, updated_at moves.
    assert (budget.max_usd, budget.created_at, budget.updated_at) == (Decimal("25"), T0, T1)
    assert after.teams["eng"].name == "Platform"


def test_an_entity_removed_from_the_file_is_deleted_with_its_limits(location: Location) -> None:
    store = location.store()
    seed(store)
    api_budget = Budget(
        id="bob-extra",
        owner=EntityRef("key", "bob"),
        max_usd=Decimal("1"),
        reset="1d",
        window="calendar",
        mode="reserve",
        source="api",
        created_at=T0,
        updated_at=T0,
    )
    api_team = Team(
        id="sales", customer_id=None, name=None, source="api", created_at=T0, updated_at=T0
    )
    store.edit(lambda e: (Changes(put=[api_budget, api_team]), None))
    section = governance_section()
    del section["virtual_keys"][1]
    after = seed(location.store(), section, at=T1)
    assert "bob" not in after.keys
    assert "bob-extra" not in after.budgets
    assert "sales" in after.teams
    assert location.store().load() == after


def test_removing_a_customer_the_api_still_uses_is_refused(location: Location) -> None:
    store = location.store()
    seed(store)
    api_team = Team(
        id="sales", customer_id="acme", name=None, source="api", created_at=T0, updated_at=T0
    )
    store.edit(lambda e: (Changes(put=[api_team]), None))
    section = governance_section()
    section["customers"] = []
    section["teams"][0]["customer"] = None
    section["virtual_keys"][1] = {"id": "bob", "value": "vk-bob-0123456789"}
    with pytest.raises(IntegrityProblem, match="team 'sales' belongs to missing customer 'acme'"):
        seed(location.store(), section, at=T1)
    assert "acme" in location.store().load().customers


def test_a_failed_edit_writes_nothing(location: Location) -> None:
    store = location.store()
    before = seed(store)
    orphan = Team(
        id="ops", customer_id="globex", name=None, source="api", created_at=T0, updated_at=T0
    )
    with pytest.raises(IntegrityProblem, match="missing customer 'globex'"):
        store.edit(lambda e: (Changes(put=[orphan]), None))
    assert location.store().load() == before


def test_duplicate_key_values_are_refused(location: Location) -> None:
    store = location.store()
    seed(store)

    def clone(e: Any) -> tuple[Changes, None]:
        return Changes(put=[msgspec.structs.replace(e.keys["alice"], id="alice2")]), None

    with pytest.raises(IntegrityProblem, match="the same value"):
        store.edit(clone)


def test_removing_a_provider_config_deletes_its_limits(location: Location) -> None:
    store = location.store()
    seed(store)

    def drop_sim(e: Any) -> tuple[Changes, None]:
        alice = e.keys["alice"]
        kept = tuple(g for g in alice.grants if g.name != "sim")
        return Changes(put=[msgspec.structs.replace(alice, providers=kept)]), None

    after, _ = store.edit(drop_sim)
    assert "provider:alice:sim:budget:1d" not in after.budgets
    assert location.store().load() == after


def test_another_replica_sees_edits_through_the_revision(location: Location) -> None:
    mine, theirs = location.store(), location.store()
    seed(mine)
    seen = theirs.revision()
    updated = msgspec.structs.replace(mine.load().teams["eng"], name="Core", updated_at=T1)
    mine.edit(lambda e: (Changes(put=[updated]), None))
    assert theirs.revision() == seen + 1
    assert theirs.load().teams["eng"].name == "Core"


def test_edit_returns_what_the_decision_returned(location: Location) -> None:
    store = location.store()
    seed(store)
    decide: Callable[[Any], tuple[Changes, str]] = lambda e: (Changes(), "nothing to do")  # noqa: E731
    after, result = store.edit(decide)
    assert (after.revision, result) == (1, "nothing to do")


def test_the_config_adopts_an_entity_the_api_created(location: Location) -> None:
    store = location.store()
    section = copy.deepcopy(governance_section())
    solo = Team(id="eng", customer_id=None, name="old", source="api", created_at=T0, updated_at=T0)
    store.edit(lambda e: (Changes(put=[solo]), None))
    after = seed(location.store(), section, at=T1)
    assert (after.teams["eng"].source, after.teams["eng"].customer_id) == ("config", "acme")
    assert after.teams["eng"].created_at == T0
