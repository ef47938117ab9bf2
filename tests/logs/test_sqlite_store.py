"""What only the SQLite store does: WAL mode, the file in the data directory, durability."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from govern.config import LogConfig
from govern.logs import DB_FILE, SQLiteStore, open_store, requests
from govern.logs.sqlite import chunk_sizes
from tests.logs.records import record


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_the_default_store_is_a_wal_file_in_the_data_directory(tmp_path: Path) -> None:
    store = open_store(LogConfig(), tmp_path / "data")
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == tmp_path / "data" / DB_FILE
        assert _pragma(store.path, "journal_mode") == "wal"
    finally:
        store.close()


@pytest.mark.parametrize(("durability", "level"), [("buffered", 1), ("strict", 2)])
def test_strict_durability_syncs_every_commit(tmp_path: Path, durability: str, level: int) -> None:
    store = open_store(LogConfig(durability=durability), tmp_path)  # type: ignore[arg-type]
    try:
        _, rows = store.fetch("PRAGMA synchronous")
        assert rows[0][0] == level  # 1 NORMAL, 2 FULL
    finally:
        store.close()


def test_readers_see_commits_while_another_connection_reads(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / DB_FILE)
    reader = sqlite3.connect(tmp_path / DB_FILE)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM requests").fetchone()  # holds a read snapshot
        store.insert([record(0)])  # WAL: the writer does not wait for the reader
        reader.execute("COMMIT")
        assert reader.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 1
    finally:
        reader.close()
        store.close()


def test_queries_accept_the_data_directory_or_the_file(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / DB_FILE)
    store.insert([record(0)])
    store.close()
    assert len(requests(tmp_path)) == 1
    assert len(requests(tmp_path / DB_FILE)) == 1
    assert len(requests(str(tmp_path / DB_FILE))) == 1


def test_querying_a_missing_log_does_not_create_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no request log"):
        requests(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_statements_stay_within_old_sqlite_parameter_limits(tmp_path: Path) -> None:
    # SQLite before 3.32 allows 999 parameters a statement: 27 rows of 36 columns.
    assert chunk_sizes(999) == (16, 4, 1)
    assert chunk_sizes(32_766) == (256, 64, 16, 4, 1)
    store = SQLiteStore(tmp_path / "log.db")
    store._writer.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    store._chunks = chunk_sizes(999)
    store.insert([record(n) for n in range(100)])
    assert store.fetch("SELECT COUNT(*) FROM requests")[1][0][0] == 100
    store.close()
