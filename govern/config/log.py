"""The request log."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from govern.config.base import STRICT as _Strict


class LogConfig(Struct, **_Strict):
    """The request log: one row per upstream attempt or rejection (`govern.logs`)."""

    store: Literal["sqlite", "postgres"] = "sqlite"
    """`sqlite`: a WAL-mode file `requests.db` in the data directory. `postgres`: the
    database at `postgres_dsn` (the `[postgres]` extra), which several replicas can share."""
    postgres_dsn: str | None = None
    """PostgreSQL connection string (or `env.NAME`), for `store = "postgres"`."""
    durability: Literal["buffered", "strict"] = "buffered"
    """`buffered`: rows are written in batches off the response path and flushed on a
    clean shutdown (SIGINT/SIGTERM); a killed process loses the rows not yet written.
    `strict`: a response is released only once its row is committed (SQLite then also
    syncs each commit to disk); concurrent responses share a commit."""
    log_content: bool = False
    """Store prompt and completion text too (off: only sizes, costs and metadata)."""
    batch_size: int = 500
    """Rows written per transaction at most."""
    flush_interval_ms: float = 100.0
    """Buffered: a partial batch is written once its oldest row has waited this long."""
    queue_size: int = 50_000
    """Rows waiting to be written at most; when full, responses wait for room rather
    than lose a row."""
