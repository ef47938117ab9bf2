"""What only the PostgreSQL store does: the lazy import, reconnecting, the config."""

from __future__ import annotations

import sys

import psycopg
import pytest

from govern.config import LogConfig
from govern.errors import ConfigError
from govern.logs import PostgresStore, open_store, requests
from tests.logs.records import record
from tests.postgres import PostgresServer


def test_without_psycopg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with pytest.raises(ConfigError, match=r"pip install 'govern\[postgres\]'"):
        PostgresStore("host=/nonexistent dbname=x")


def test_the_config_opens_the_postgres_store(pg_server: PostgresServer, tmp_path: object) -> None:
    dsn = pg_server.dsn(pg_server.create_database())
    store = open_store(LogConfig(store="postgres", postgres_dsn=dsn), "unused")
    try:
        assert isinstance(store, PostgresStore)
        store.insert([record(0)])
        assert len(requests(dsn)) == 1  # a DSN string is a query source too
    finally:
        store.close()


def test_a_connection_that_died_idle_is_replaced(pg_server: PostgresServer) -> None:
    dsn = pg_server.dsn(pg_server.create_database())
    store = PostgresStore(dsn)
    try:
        store.insert([record(0)])
        with psycopg.connect(dsn, autocommit=True) as admin:  # as a server restart would
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        store.insert([record(1)])
        _, rows = store.fetch("SELECT COUNT(*) FROM requests")
        assert rows[0][0] == 2
    finally:
        store.close()


def test_a_reader_that_died_idle_is_replaced(pg_server: PostgresServer) -> None:
    dsn = pg_server.dsn(pg_server.create_database())
    store = PostgresStore(dsn)
    try:
        store.insert([record(0)])
        assert store.fetch("SELECT COUNT(*) FROM requests")[1] == [(1,)]
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert store.fetch("SELECT COUNT(*) FROM requests")[1] == [(1,)]
    finally:
        store.close()


def test_the_repr_hides_the_dsn(pg_server: PostgresServer) -> None:
    dsn = pg_server.dsn(pg_server.create_database()) + " password=hunter2"
    store = PostgresStore(dsn)
    try:
        assert "hunter2" not in repr(store)
    finally:
        store.close()
