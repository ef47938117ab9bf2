"""The PostgreSQL request log (the `[postgres]` extra: psycopg 3), shared by replicas."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from govern.errors import ConfigError
from govern.logs.dialect import POSTGRES, Dialect
from govern.logs.migrations import (
    CREATE_VERSION_TABLE,
    CURRENT_VERSION,
    MIGRATIONS,
    Migration,
    pending,
)
from govern.logs.record import COLUMNS, RequestRecord
from govern.logs.store import RejectedRow

if TYPE_CHECKING:
    import psycopg

INSERT = (
    f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({POSTGRES.placeholders(len(COLUMNS))})"
)
_MIGRATION_LOCK = 0x676F7665726E  # "govern": replicas starting together migrate one at a time


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "the PostgreSQL request log needs psycopg: pip install 'govern[postgres]'"
        ) from None
    return psycopg


class PostgresStore:
    """The request log in a PostgreSQL database, at `dsn`.

    Methods block: the writer and the async query helpers call them in a thread.
    A broken connection (server restart) is replaced on the next call.
    """

    dialect: Dialect = POSTGRES

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout: float = 10.0,
        migrations: Sequence[Migration] = MIGRATIONS,
    ):
        self._psycopg = _psycopg()
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer: psycopg.Connection[Any] = self._connect()
        self._reader: psycopg.Connection[Any] | None = None
        try:
            self._migrate(migrations)
        except BaseException:
            self._writer.close()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = self._psycopg.connect(
            self._dsn, autocommit=True, connect_timeout=max(1, round(self._connect_timeout))
        )
        conn.execute("SET TIME ZONE 'UTC'")
        return conn

    def _live(self, conn: psycopg.Connection[Any] | None) -> psycopg.Connection[Any]:
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            return self._connect()
        return conn

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        with self._write_lock, self._writer.transaction():
            conn = self._writer
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(CREATE_VERSION_TABLE.format(**POSTGRES.types))
            row = conn.execute(CURRENT_VERSION).fetchone()
            current = int(row[0]) if row else 0
            for step in pending(current, migrations, "database"):
                for statement in step.sql(POSTGRES):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version VALUES (%s, %s, %s)",
                    (step.version, step.description, datetime.now(UTC)),
                )

    def insert(self, records: Sequence[RequestRecord]) -> None:
        """Append rows in one transaction; returns once it is committed."""
        if not records:
            return
        rows = [POSTGRES.row(msgspec.structs.astuple(r)) for r in records]
        with self._write_lock:
            conn = self._begin()
            try:
                with conn.cursor() as cursor:
                    cursor.executemany(INSERT, rows)
                conn.execute("COMMIT")
            except BaseException as exc:
                if not conn.broken:
                    conn.execute("ROLLBACK")
                if isinstance(exc, self._psycopg.IntegrityError | self._psycopg.DataError):
                    raise RejectedRow(str(exc)) from exc
                raise

    def _begin(self) -> psycopg.Connection[Any]:
        # A connection that died while idle (server restart) fails at BEGIN, before any
        # row was sent: only then is a retry on a new connection sure not to double rows.
        self._writer = self._live(self._writer)
        try:
            self._writer.execute("BEGIN")
        except self._psycopg.OperationalError:
            if not self._writer.broken:
                raise
            self._writer = self._live(self._writer)
            self._writer.execute("BEGIN")
        return self._writer

    def fetch(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query; its column names and rows (retried once on a dead connection)."""
        with self._read_lock:
            try:
                return self._query(sql, params)
            except self._psycopg.OperationalError:
                if self._reader is None or not self._reader.broken:
                    raise
                return self._query(sql, params)

    def _query(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        self._reader = conn = self._live(self._reader)
        with conn.cursor() as cursor:
            cursor.execute(sql, tuple(params) or None)
            names = [d.name for d in cursor.description or ()]
            return names, cursor.fetchall()

    def schema_version(self) -> int:
        """The schema version of the database."""
        _, rows = self.fetch(CURRENT_VERSION)
        return int(rows[0][0])

    def close(self) -> None:
        """Close the connections."""
        with self._write_lock, self._read_lock:
            self._writer.close()
            if self._reader is not None:
                self._reader.close()

    def __repr__(self) -> str:
        return "PostgresStore(...)"  # the DSN may hold a password
