"""Transactions on the request log's database (SQLite file or PostgreSQL) for entities.

Statements are written with `?` placeholders; the PostgreSQL adapter turns them into
`%s`. Write transactions are serialized across processes (SQLite `BEGIN IMMEDIATE`, a
PostgreSQL advisory lock), so a read-check-write edit never interleaves with another.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from govern.config import GovernConfig
from govern.errors import ConfigError
from govern.governance import schema
from govern.logs.dialect import POSTGRES, SQLITE, Dialect
from govern.logs.migrations import Migration
from govern.logs.store import DB_FILE

if TYPE_CHECKING:
    import psycopg

Row = tuple[Any, ...]
_WRITE_LOCK = 0x676F762D656E74  # "gov-ent": one entity writer at a time across replicas


class Tx(Protocol):
    """An open transaction."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Execute one statement; its rows (empty for statements without)."""
        ...


class Database(Protocol):
    """Where the entity tables are."""

    dialect: Dialect

    def transaction(self, *, write: bool) -> Any:
        """A context manager yielding a `Tx`: committed on exit, rolled back on error.
        Reads see one consistent snapshot; writes are serialized."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def migrate(db: Database, where: str, migrations: Sequence[Migration]) -> None:
    """Bring the entity tables to the latest schema (in one write transaction)."""
    with db.transaction(write=True) as tx:
        tx.run(schema.CREATE_VERSION_TABLE.format(**db.dialect.types))
        current = int(tx.run(schema.CURRENT_VERSION)[0][0])
        for step in schema.pending(current, migrations, where):
            for statement in step.sql(db.dialect):
                tx.run(statement)
            now = db.dialect.ts_param(datetime.now(UTC))
            tx.run(schema.RECORD_VERSION, (step.version, step.description, now))


class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()


class SQLiteDatabase:
    """The entity tables in a SQLite file (WAL mode, shared with the request log)."""

    dialect: Dialect = SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_ms: int = 5000,
        migrations: Sequence[Migration] = schema.MIGRATIONS,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            migrate(self, str(self.path), migrations)
        except BaseException:
            self._conn.close()
            raise

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Tx]:
        """A transaction on the file (`BEGIN IMMEDIATE` for writes)."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SQLiteTx(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteDatabase({str(self.path)!r})"


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "governance entities in PostgreSQL need psycopg: pip install 'govern[postgres]'"
        ) from None
    return psycopg


class _PostgresTx:
    def __init__(self, conn: psycopg.Connection[Any]):
        self._conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self._conn.execute(sql.replace("?", "%s"), tuple(params) or None)
        return cursor.fetchall() if cursor.description else []


class PostgresDatabase:
    """The entity tables in a PostgreSQL database; a dead connection is replaced."""

    dialect: Dialect = POSTGRES

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout: float = 10.0,
        migrations: Sequence[Migration] = schema.MIGRATIONS,
    ):
        self._psycopg = _psycopg()
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        try:
            migrate(self, "database", migrations)
        except BaseException:
            self.close()
            raise

    def _live(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            conn = self._psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=max(1, round(self._connect_timeout))
            )
            conn.execute("SET TIME ZONE 'UTC'")
            self._conn = conn
        return conn

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Tx]:
        """A transaction (repeatable read for reads; advisory-locked for writes)."""
        with self._lock:
            conn = self._live()
            with conn.transaction():
                if write:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
                else:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield _PostgresTx(conn)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return "PostgresDatabase(...)"  # the DSN may hold a password


def open_database(config: GovernConfig, data_dir: str | os.PathLike[str]) -> Database:
    """The request log's database: `requests.db` in `data_dir`, or `log.postgres_dsn`."""
    if config.log.store == "postgres":
        if not config.log.postgres_dsn:
            raise ConfigError("log.postgres_dsn: required when log.store is postgres")
        return PostgresDatabase(config.log.postgres_dsn)
    return SQLiteDatabase(Path(data_dir) / DB_FILE)
