"""The SQLite request log: a WAL-mode file, written from a worker thread."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import msgspec

from govern.logs.dialect import SQLITE, Dialect
from govern.logs.migrations import (
    CREATE_VERSION_TABLE,
    CURRENT_VERSION,
    MIGRATIONS,
    Migration,
    pending,
)
from govern.logs.record import COLUMNS, RequestRecord
from govern.logs.store import RejectedRow

INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({SQLITE.placeholders(len(COLUMNS))})"
_VALUES = f"({SQLITE.placeholders(len(COLUMNS))})"
CHUNKS = (256, 64, 16, 4, 1)
"""Rows per INSERT statement: a batch goes in as few statements as these sizes allow.

sqlite3 releases the GIL around each statement it steps, and `executemany` steps one
per row: with the event loop busy on the same core, each release is a thread switch.
One statement for many rows costs one."""


def chunk_sizes(max_parameters: int) -> tuple[int, ...]:
    """The `CHUNKS` whose statements stay within SQLite's parameter limit (999 in builds
    before 3.32, 32,766 or more since)."""
    rows = max_parameters // len(COLUMNS)
    return tuple(size for size in CHUNKS if size <= rows) or (1,)


@cache
def insert_rows(count: int) -> str:
    """An INSERT of `count` rows."""
    return INSERT + ("," + _VALUES) * (count - 1)


# sqlite3 raises OverflowError for an integer beyond 64 bits.
REFUSED = (sqlite3.IntegrityError, sqlite3.DataError, OverflowError)


class SQLiteStore:
    """The request log in one SQLite file (WAL mode: readers never wait for the writer).

    Methods block: the writer and the async query helpers call them in a thread.
    """

    dialect: Dialect = SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout_ms: int = 5000,
        migrations: Sequence[Migration] = MIGRATIONS,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer = self._connect()
        self._chunks = chunk_sizes(self._writer.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        try:
            self._migrate(migrations)
            self._reader = self._connect()
        except BaseException:
            self._writer.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=self._busy_timeout_ms / 1000,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL survives a killed process (the WAL is in the OS); FULL also a power cut.
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        # 32 MiB of page cache instead of SQLite's 2 MiB: a large log's indexes stay in
        # memory, so an insert or a query over recent rows does not read pages back.
        conn.execute("PRAGMA cache_size=-32768")
        return conn

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        conn = self._writer
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(CREATE_VERSION_TABLE.format(**SQLITE.types))
                current = conn.execute(CURRENT_VERSION).fetchone()[0]
                for step in pending(current, migrations, str(self.path)):
                    for statement in step.sql(SQLITE):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_version VALUES (?, ?, ?)",
                        (step.version, step.description, SQLITE.ts_param(datetime.now(UTC))),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def insert(self, records: Sequence[RequestRecord]) -> None:
        """Append rows in one transaction; returns once it is committed."""
        if not records:
            return
        rows = [SQLITE.row(msgspec.structs.astuple(r)) for r in records]
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                start = 0
                for size in self._chunks:
                    while len(rows) - start >= size:
                        chunk = rows[start : start + size]
                        conn.execute(insert_rows(size), list(chain.from_iterable(chunk)))
                        start += size
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, REFUSED):
                    raise RejectedRow(str(exc)) from exc
                raise

    def fetch(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query; its column names and rows."""
        with self._read_lock:
            cursor = self._reader.execute(sql, tuple(params))
            names = [d[0] for d in cursor.description or ()]
            return names, cursor.fetchall()

    def schema_version(self) -> int:
        """The schema version of the file."""
        _, rows = self.fetch(CURRENT_VERSION)
        return int(rows[0][0])

    def close(self) -> None:
        """Close the file's connections."""
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"
