"""The request log: one row per upstream attempt or rejection, written in batches to
SQLite (default) or PostgreSQL, and read back as pandas DataFrames or JSON pages.

    writer = await open_log(config.log, data_dir)    # on startup
    await writer.write(RequestRecord(...))           # per attempt
    await writer.close()                             # on shutdown: loses nothing
    govern.logs.spend("govern-data", group_by=["model_served"], freq="1D")
"""

from govern.logs.frames import requests, spend
from govern.logs.migrations import MIGRATIONS, Migration
from govern.logs.pages import LogPage, SpendPage, SpendRow, log_page, spend_page
from govern.logs.postgres import PostgresStore
from govern.logs.record import (
    CacheResult,
    LoggedRequest,
    RequestRecord,
    nanos_to_usd,
    usd_to_nanos,
)
from govern.logs.sql import FILTER_COLUMNS, GROUP_COLUMNS, LogQueryError
from govern.logs.sqlite import SQLiteStore
from govern.logs.store import DB_FILE, LogStore, open_store
from govern.logs.writer import LogWriteError, LogWriter, LogWriterClosed, open_log

__all__ = [
    "DB_FILE",
    "FILTER_COLUMNS",
    "GROUP_COLUMNS",
    "MIGRATIONS",
    "CacheResult",
    "LogPage",
    "LogQueryError",
    "LogStore",
    "LogWriteError",
    "LogWriter",
    "LogWriterClosed",
    "LoggedRequest",
    "Migration",
    "PostgresStore",
    "RequestRecord",
    "SQLiteStore",
    "SpendPage",
    "SpendRow",
    "log_page",
    "nanos_to_usd",
    "open_log",
    "open_store",
    "requests",
    "spend",
    "spend_page",
    "usd_to_nanos",
]
