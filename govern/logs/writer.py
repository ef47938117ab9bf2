"""`LogWriter`: a bounded queue of rows and one task that writes them in batches."""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from dataclasses import dataclass
from typing import Literal

import msgspec

from govern.config import LogConfig
from govern.errors import GovernError
from govern.logs.record import RequestRecord
from govern.logs.store import LogStore, RejectedRow, open_store

log = logging.getLogger("govern.logs")

Durability = Literal["buffered", "strict"]

MAX_RETRY_DELAY = 10.0
"""Seconds between two tries of a batch the store refused, at most (buffered mode)."""


class LogWriteError(GovernError):
    """A row could not be committed to the request log."""

    status = 503
    type = "server_error"


class LogWriterClosed(LogWriteError):
    """`write` was called after `close`."""


@dataclass(slots=True)
class _Pending:
    record: RequestRecord
    queued_at: float
    done: asyncio.Future[None] | None


class LogWriter:
    """Writes request rows off the response path, in batches, in one background task.

    `buffered`: `write` returns at once while the queue has room (and waits for room,
    never dropping a row, when it is full); a batch is written when `batch_size` rows
    wait or the oldest has waited `flush_interval_ms`; a store that fails is retried
    until it takes the rows. `strict`: `write` returns only once the row's transaction
    committed (rows that arrive together share a commit), and raises LogWriteError if
    the store still fails after `strict_retry_for` seconds. In both modes a row the
    store refuses as invalid (`RejectedRow`) is logged and counted in `rejected`
    instead of blocking the rows behind it. `close` writes everything queued: call it
    on shutdown. Without `log_content`, prompt and completion text is never stored.
    """

    def __init__(
        self,
        store: LogStore,
        *,
        durability: Durability = "buffered",
        batch_size: int = 500,
        flush_interval_ms: float = 100.0,
        queue_size: int = 50_000,
        retry_delay: float = 0.2,
        strict_retry_for: float = 5.0,
        log_content: bool = True,
        owns_store: bool = False,
    ):
        if batch_size < 1 or queue_size < 1:
            raise ValueError("batch_size and queue_size must be at least 1")
        self.store = store
        self.durability: Durability = durability
        self._batch_size = batch_size
        self._interval = flush_interval_ms / 1000
        self._queue_size = queue_size
        self._retry_delay = retry_delay
        self._strict_retry_for = strict_retry_for
        self._log_content = log_content
        self.rejected = 0
        """Rows the store refused as invalid (logged, not stored): should stay 0."""
        self._owns_store = owns_store
        self._pending: deque[_Pending] = deque()
        self._has_rows = asyncio.Event()
        self._hurry = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._progress = asyncio.Condition()
        self._queued = 0
        self._handled = 0  # committed, or failed in strict mode
        self._committed = 0
        self._flush_target = 0
        self._closing = False
        self._inflight: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_config(
        cls, store: LogStore, config: LogConfig, *, owns_store: bool = False
    ) -> LogWriter:
        """A writer with the batching and durability of `config`."""
        return cls(
            store,
            durability=config.durability,
            batch_size=config.batch_size,
            flush_interval_ms=config.flush_interval_ms,
            queue_size=config.queue_size,
            log_content=config.log_content,
            owns_store=owns_store,
        )

    @property
    def backlog(self) -> int:
        """Rows accepted but not yet committed."""
        return self._queued - self._handled

    @property
    def committed(self) -> int:
        """Rows committed so far."""
        return self._committed

    async def write(self, record: RequestRecord) -> None:
        """Queue a row; in strict mode, return once it is committed (else LogWriteError)."""
        while len(self._pending) >= self._queue_size and not self._closing:
            self._room.clear()
            await self._room.wait()
        if self._closing:
            raise LogWriterClosed("the request log is closed")
        if not self._log_content and (record.prompt is not None or record.completion is not None):
            record = msgspec.structs.replace(record, prompt=None, completion=None)
        loop = asyncio.get_running_loop()
        self._start(loop)
        strict = self.durability == "strict"
        done = loop.create_future() if strict else None
        self._pending.append(_Pending(record, loop.time(), done))
        self._queued += 1
        self._has_rows.set()
        if strict or len(self._pending) >= self._batch_size:
            self._hurry.set()
        if done is not None:
            await done

    async def flush(self) -> None:
        """Wait until every row queued before this call is committed."""
        target = self._queued
        if self._handled >= target:
            return
        self._flush_target = max(self._flush_target, target)
        self._hurry.set()
        async with self._progress:
            await self._progress.wait_for(lambda: self._handled >= target)

    async def close(self, timeout: float | None = None) -> None:
        """Write every queued row, stop the task, and close the store if this writer owns it.

        With a `timeout` (seconds), give up on a store that keeps refusing rows and raise
        LogWriteError naming how many rows were not written.
        """
        self._closing = True
        self._room.set()  # writers waiting for room see the writer is closing
        self._hurry.set()
        self._has_rows.set()
        try:
            if self._task is not None:
                try:
                    async with asyncio.timeout(timeout):
                        await asyncio.shield(self._task)
                except TimeoutError:
                    lost = self.backlog
                    self._task.cancel()
                    await asyncio.gather(self._task, return_exceptions=True)
                    log.error("request log closed with %d rows not written", lost)
                    raise LogWriteError(
                        f"request log closed with {lost} rows not written"
                    ) from None
        finally:
            if self._owns_store:
                await asyncio.to_thread(self.store.close)

    async def __aenter__(self) -> LogWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._task is None:
            self._task = loop.create_task(self._run(), name="govern-log-writer")

    async def _run(self) -> None:
        try:
            await self._loop()
        finally:
            # Only reached early when cancelled: nobody may wait forever on a row.
            error = LogWriterClosed("the request log closed before the row was written")
            for p in [*self._inflight, *self._pending]:
                if p.done is not None and not p.done.done():
                    p.done.set_exception(error)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._has_rows.clear()
                await self._has_rows.wait()
                continue
            if not self._urgent():
                self._hurry.clear()
                wait = self._pending[0].queued_at + self._interval - loop.time()
                if wait > 0 and not self._urgent():
                    try:
                        async with asyncio.timeout(wait):
                            await self._hurry.wait()
                    except TimeoutError:
                        pass
            count = min(self._batch_size, len(self._pending))
            self._inflight = [self._pending.popleft() for _ in range(count)]
            self._room.set()
            await self._commit(self._inflight)
            self._inflight = []

    def _urgent(self) -> bool:
        return (
            self.durability == "strict"
            or self._closing
            or len(self._pending) >= self._batch_size
            or self._flush_target > self._handled
        )

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            await self._insert(batch)
        except RejectedRow as exc:
            if len(batch) > 1:  # find the refused row; its batch-mates are fine
                for p in batch:
                    await self._commit([p])
                return
            self._reject(batch[0], exc)
        except Exception as exc:  # strict mode gave up on an unreachable store
            self._settle(batch, LogWriteError(f"request log write failed: {exc}"))
            await self._advance(len(batch), committed=False)
            return
        else:
            self._settle(batch, None)
            await self._advance(len(batch), committed=True)
            return
        await self._advance(1, committed=False)

    async def _insert(self, batch: list[_Pending]) -> None:
        """Insert a batch, retrying a store that cannot be reached or written for now.

        Buffered rows are retried until they are written: the queue fills and writes
        then wait for room, but no row is dropped. Strict writes give up after
        `strict_retry_for` seconds, since a response is waiting on them.
        """
        loop = asyncio.get_running_loop()
        records = [p.record for p in batch]
        give_up = loop.time() + self._strict_retry_for
        delay = self._retry_delay
        while True:
            try:
                await asyncio.to_thread(self.store.insert, records)
                return
            except RejectedRow:
                raise
            except Exception as exc:
                if self.durability == "strict" and loop.time() + delay > give_up:
                    raise
                log.error(
                    "request log write of %d rows failed, retrying in %.2fs: %s",
                    len(batch),
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    def _reject(self, p: _Pending, exc: RejectedRow) -> None:
        self.rejected += 1
        log.error(
            "request log refused the row of request %s (attempt %d), not stored: %s",
            p.record.request_id,
            p.record.attempt,
            exc,
        )
        self._settle([p], LogWriteError(f"request log refused the row: {exc}"))

    @staticmethod
    def _settle(batch: list[_Pending], error: LogWriteError | None) -> None:
        for p in batch:
            if p.done is None or p.done.done():
                continue
            if error is None:
                p.done.set_result(None)
            else:
                p.done.set_exception(error)

    async def _advance(self, count: int, *, committed: bool) -> None:
        self._handled += count
        if committed:
            self._committed += count
        async with self._progress:
            self._progress.notify_all()


async def open_log(config: LogConfig, data_dir: str | os.PathLike[str]) -> LogWriter:
    """Open the configured store (off the event loop) and a writer that owns it."""
    store = await asyncio.to_thread(open_store, config, data_dir)
    return LogWriter.from_config(store, config, owns_store=True)
