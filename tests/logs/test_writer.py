"""LogWriter: batching, buffered and strict durability, back-pressure, failures."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from govern.config import LogConfig
from govern.logs import (
    DB_FILE,
    LogStore,
    LogWriteError,
    LogWriter,
    LogWriterClosed,
    RequestRecord,
    SQLiteStore,
    open_log,
)
from tests.logs.conftest import StoreFactory
from tests.logs.records import record

LONG = 60_000.0  # a flush interval no test waits for


class CountingStore:
    """A real store that also remembers the size of every batch it was given."""

    def __init__(self, store: LogStore):
        self.inner = store
        self.dialect = store.dialect
        self.batches: list[int] = []

    def insert(self, records: Sequence[RequestRecord]) -> None:
        self.batches.append(len(records))
        self.inner.insert(records)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.inner.fetch(sql, params)

    def schema_version(self) -> int:
        return self.inner.schema_version()

    def close(self) -> None:
        self.inner.close()


def count(store: LogStore) -> int:
    return int(store.fetch("SELECT COUNT(*) FROM requests")[1][0][0])


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)


async def test_buffered_writes_return_before_the_rows_are_committed(store: LogStore) -> None:
    writer = LogWriter(store, flush_interval_ms=LONG)
    for i in range(3):
        await writer.write(record(i))
    assert count(store) == 0
    assert writer.backlog == 3
    await writer.flush()
    assert count(store) == 3
    assert writer.backlog == 0
    await writer.close()


async def test_a_full_batch_is_written_without_waiting(store: LogStore) -> None:
    writer = LogWriter(store, batch_size=5, flush_interval_ms=LONG)
    for i in range(5):
        await writer.write(record(i))
    await until(lambda: writer.committed == 5)
    assert count(store) == 5
    await writer.close()


async def test_a_partial_batch_is_written_after_the_flush_interval(store: LogStore) -> None:
    writer = LogWriter(store, batch_size=100, flush_interval_ms=20)
    await writer.write(record(0))
    await until(lambda: writer.committed == 1)
    assert count(store) == 1
    await writer.close()


async def test_batches_hold_at_most_batch_size_rows(store: LogStore) -> None:
    counting = CountingStore(store)
    writer = LogWriter(counting, batch_size=4, flush_interval_ms=LONG)
    for i in range(10):
        await writer.write(record(i))
    await writer.close()
    assert counting.batches == [4, 4, 2]
    assert count(store) == 10


async def test_strict_write_returns_once_the_row_is_committed(
    store: LogStore, store_factory: StoreFactory
) -> None:
    other = store_factory()  # another connection sees only committed rows
    writer = LogWriter(store, durability="strict", flush_interval_ms=LONG)
    for i in range(3):
        await writer.write(record(i))
        assert count(other) == i + 1
    await writer.close()


async def test_concurrent_strict_writes_share_commits(store: LogStore) -> None:
    counting = CountingStore(store)
    writer = LogWriter(counting, durability="strict", batch_size=100)
    await asyncio.gather(*(writer.write(record(i)) for i in range(50)))
    assert count(store) == 50
    assert len(counting.batches) < 50
    await writer.close()


async def test_a_full_queue_makes_writes_wait_and_drops_nothing(store: LogStore) -> None:
    writer = LogWriter(store, queue_size=2, batch_size=100, flush_interval_ms=LONG)
    await writer.write(record(0))
    await writer.write(record(1))
    third = asyncio.create_task(writer.write(record(2)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not third.done()  # waiting for room, not dropped
    await writer.flush()
    await third
    await writer.close()
    assert count(store) == 3


async def test_close_writes_every_queued_row(store: LogStore) -> None:
    writer = LogWriter(store, batch_size=7, flush_interval_ms=LONG)
    for i in range(100):
        await writer.write(record(i))
    await writer.close()
    assert count(store) == 100


async def test_writing_after_close_is_an_error(store: LogStore) -> None:
    writer = LogWriter(store)
    await writer.close()
    with pytest.raises(LogWriterClosed):
        await writer.write(record(0))


@pytest.mark.parametrize("durability", ["buffered", "strict"])
async def test_a_refused_row_does_not_take_its_batch_down(store: LogStore, durability: Any) -> None:
    writer = LogWriter(store, durability=durability, batch_size=100, flush_interval_ms=LONG)
    records = [record(i) for i in range(5)]
    records[2] = record(2, request_id=None)  # NOT NULL: never storable
    writes = [writer.write(r) for r in records]
    results = await asyncio.gather(*writes, writer.close(), return_exceptions=True)
    assert count(store) == 4
    assert writer.rejected == 1
    if durability == "strict":
        assert isinstance(results[2], LogWriteError)
        assert [r for i, r in enumerate(results) if i != 2] == [None] * 5


def _lock(path: Path) -> sqlite3.Connection:
    """Hold SQLite's write lock from another connection, as a busy writer would."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


async def test_buffered_rows_are_retried_until_the_store_takes_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / DB_FILE, busy_timeout_ms=10)
    writer = LogWriter(store, retry_delay=0.01, flush_interval_ms=LONG)
    lock = _lock(tmp_path / DB_FILE)
    await writer.write(record(0))
    flushed = asyncio.create_task(writer.flush())
    with caplog.at_level(logging.ERROR, logger="govern.logs"):
        await until(lambda: "retrying" in caplog.text)
    assert not flushed.done()
    lock.execute("COMMIT")
    lock.close()
    await flushed
    assert count(store) == 1
    await writer.close()
    store.close()


async def test_strict_write_fails_when_the_store_stays_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / DB_FILE, busy_timeout_ms=10)
    writer = LogWriter(store, durability="strict", retry_delay=0.01, strict_retry_for=0.1)
    lock = _lock(tmp_path / DB_FILE)
    try:
        with pytest.raises(LogWriteError, match="database is locked"):
            await writer.write(record(0))
    finally:
        lock.execute("COMMIT")
        lock.close()
    await writer.write(record(1))  # the writer goes on once the store is back
    assert count(store) == 1
    await writer.close()
    store.close()


async def test_close_with_a_timeout_gives_up_on_a_dead_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / DB_FILE, busy_timeout_ms=10)
    writer = LogWriter(store, retry_delay=0.01)
    lock = _lock(tmp_path / DB_FILE)
    try:
        await writer.write(record(0))
        with pytest.raises(LogWriteError, match="1 rows not written"):
            await writer.close(timeout=0.1)
    finally:
        lock.execute("COMMIT")
        lock.close()
        store.close()


async def test_open_log_follows_the_config_and_owns_the_store(tmp_path: Path) -> None:
    config = LogConfig(durability="strict", batch_size=3)
    writer = await open_log(config, tmp_path)
    await writer.write(record(0))
    assert writer.durability == "strict"
    assert count(writer.store) == 1
    await writer.close()
    with pytest.raises(sqlite3.ProgrammingError):  # closed with the writer
        writer.store.fetch("SELECT 1")


async def test_content_is_stored_only_with_log_content(tmp_path: Path) -> None:
    for log_content in (False, True):
        config = LogConfig(log_content=log_content)
        writer = await open_log(config, tmp_path / str(log_content))
        await writer.write(record(0, prompt="secret plan", completion="ok"))
        await writer.flush()
        _, rows = writer.store.fetch("SELECT prompt, completion FROM requests")
        assert rows == ([("secret plan", "ok")] if log_content else [(None, None)])
        await writer.close()
