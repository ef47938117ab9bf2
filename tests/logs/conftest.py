"""Fixtures: every store test runs against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from govern.logs import LogStore, PostgresStore, SQLiteStore
from tests.postgres import PostgresServer, PostgresUnavailable, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A temporary PostgreSQL cluster for the session (skips, saying why, if impossible)."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class StoreFactory:
    """Opens stores at one location (a SQLite file, or a PostgreSQL database)."""

    kind: str
    location: str
    opened: list[LogStore] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> LogStore:
        store: LogStore
        if self.kind == "sqlite":
            store = SQLiteStore(self.location, **kwargs)
        else:
            store = PostgresStore(self.location, **kwargs)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Open stores of each kind at a fresh, empty location."""
    if request.param == "sqlite":
        factory = StoreFactory("sqlite", str(tmp_path / "requests.db"))
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        factory = StoreFactory("postgres", server.dsn(server.create_database()))
    yield factory
    factory.close_all()


@pytest.fixture
def store(store_factory: StoreFactory) -> LogStore:
    """A fresh store of each kind, migrated to the latest schema."""
    return store_factory()
