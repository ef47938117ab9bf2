"""The `LogStore` protocol, and opening the store a configuration or a path names."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from govern.config import LogConfig
from govern.logs.dialect import Dialect
from govern.logs.record import RequestRecord

DB_FILE = "requests.db"
"""The SQLite request log's file name in the data directory."""


class RejectedRow(Exception):
    """The store refused the data itself (a constraint, a value out of range): trying the
    same rows again cannot succeed, unlike a lost connection or a locked database."""


@runtime_checkable
class LogStore(Protocol):
    """Where request rows are kept. Every method blocks: async callers use a thread."""

    dialect: Dialect
    """The store's SQL flavour, for the query builder."""

    def insert(self, records: Sequence[RequestRecord]) -> None:
        """Append rows in one transaction; returns once it is committed.

        Raises RejectedRow when the rows themselves are refused; any other exception
        means the store could not be reached or written and a retry may succeed.
        """
        ...

    def fetch(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query written for `dialect`; its column names and rows."""
        ...

    def schema_version(self) -> int:
        """The schema version of the stored log."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


def open_store(config: LogConfig, data_dir: str | os.PathLike[str]) -> LogStore:
    """The store `config` names: `requests.db` in `data_dir`, or the PostgreSQL DSN."""
    if config.store == "postgres":
        from govern.logs.postgres import PostgresStore

        if not config.postgres_dsn:
            from govern.errors import ConfigError

            raise ConfigError("log.postgres_dsn: required when log.store is postgres")
        return PostgresStore(config.postgres_dsn)
    from govern.logs.sqlite import SQLiteStore

    # Strict durability promises the row survives a power cut too, not only a crash.
    synchronous: Literal["NORMAL", "FULL"] = "FULL" if config.durability == "strict" else "NORMAL"
    return SQLiteStore(Path(data_dir) / DB_FILE, synchronous=synchronous)


StoreSource = LogStore | str | os.PathLike[str]
"""A store, a PostgreSQL DSN (`postgresql://...`), a SQLite file or a data directory."""


@contextmanager
def opened(source: StoreSource) -> Iterator[LogStore]:
    """The store `source` names; closed afterwards only if opened here."""
    if isinstance(source, LogStore):
        yield source
        return
    store = _open_source(source)
    try:
        yield store
    finally:
        store.close()


def _open_source(source: str | os.PathLike[str]) -> LogStore:
    text = os.fspath(source)
    if text.startswith(("postgresql://", "postgres://")) or (
        "=" in text and not Path(text).exists()
    ):
        from govern.logs.postgres import PostgresStore

        return PostgresStore(text)
    path = Path(text)
    if path.is_dir():
        path = path / DB_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no request log at {path}")
    from govern.logs.sqlite import SQLiteStore

    return SQLiteStore(path)
