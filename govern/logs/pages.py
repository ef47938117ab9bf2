"""The request log as JSON-ready pages, for `GET /api/logs` and `GET /api/spend`."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, TypeVar, cast

import msgspec
from msgspec import Struct

from govern.logs.record import LoggedRequest, nanos_to_usd
from govern.logs.sql import (
    FilterValue,
    LogQueryError,
    TimeArg,
    bucket_seconds,
    group_columns,
    select_rows,
    select_spend,
    where,
)
from govern.logs.store import LogStore

MAX_PAGE = 1000
"""The largest page either listing returns."""

C = TypeVar("C", bound=Struct)


class LogPage(Struct, kw_only=True):
    """A page of logged rows, newest first."""

    items: list[LoggedRequest]
    """The rows."""
    next_cursor: str | None = None
    """Pass as `cursor` for the next (older) page; null on the last page."""


class SpendRow(Struct, kw_only=True):
    """Spend of one group (and period). Dollars are exact decimal strings in JSON."""

    group: dict[str, str | None]
    """The group's value of each `group_by` column."""
    period: datetime | None = None
    """Start of the period (UTC), when a `freq` was asked for."""
    cost_usd: Decimal | None
    """Total cost in dollars, exactly; null when no row of the group is priced."""
    cost_nanos: int | None
    """Total cost in nano-dollars; null when no row of the group is priced."""
    attempts: int
    """Rows: upstream attempts and rejections."""
    requests: int
    """Distinct request ids."""
    errors: int
    """Rows with an HTTP status of 400 or more."""
    unpriced_count: int
    """Rows without a price (not counted in the costs)."""
    input_tokens: int
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_input_nanos: int | None
    cost_cache_read_nanos: int | None
    cost_cache_write_5m_nanos: int | None
    cost_cache_write_1h_nanos: int | None
    cost_output_nanos: int | None
    cost_reasoning_nanos: int | None
    saved_nanos: int | None
    """What the group's cache hits would have cost, in nano-dollars; null if nothing saved."""
    saved_usd: Decimal | None = None
    """The same in dollars, exactly."""
    cache_hits: int = 0
    """Rows answered from the gateway's cache (`cache` is `exact` or `semantic`)."""
    hit_ratio: float = 0.0
    """`cache_hits` / `requests`."""


class SpendPage(Struct, kw_only=True):
    """A page of spend rows, ordered by group (nulls last) then period."""

    group_by: list[str]
    """The grouping columns."""
    freq: str | None
    """The period length, if any."""
    items: list[SpendRow]
    """The groups."""
    next_cursor: str | None = None
    """Pass as `cursor` for the next page; null on the last page."""


class _LogCursor(Struct, array_like=True):
    ts: datetime
    id: int


class _SpendCursor(Struct, array_like=True):
    offset: Annotated[int, msgspec.Meta(ge=0)]


async def log_page(
    store: LogStore,
    *,
    limit: int = 100,
    cursor: str | None = None,
    since: TimeArg = None,
    until: TimeArg = None,
    filters: Mapping[str, FilterValue] | None = None,
) -> LogPage:
    """One page of rows, newest first; `cursor` continues where a previous page ended."""
    limit = _limit(limit)
    w = where(store.dialect, since, until, filters)
    if cursor is not None:
        after = _decode(cursor, _LogCursor)
        ts = store.dialect.ts_param(after.ts)
        w.add("(ts < {p} OR (ts = {p} AND id < {p}))", ts, ts, after.id)
    sql, params = select_rows(w, newest_first=True, limit=limit + 1)
    names, rows = await asyncio.to_thread(store.fetch, sql, params)
    items = [
        LoggedRequest(**dict(zip(names, store.dialect.decode(names, row), strict=True)))
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = _encode(_LogCursor(ts=last.ts, id=last.id))
    return LogPage(items=items, next_cursor=next_cursor)


async def spend_page(
    store: LogStore,
    *,
    group_by: Sequence[str] | str = (),
    since: TimeArg = None,
    until: TimeArg = None,
    freq: str | None = None,
    filters: Mapping[str, FilterValue] | None = None,
    limit: int = MAX_PAGE,
    cursor: str | None = None,
) -> SpendPage:
    """One page of spend per group (and period), as `govern.logs.spend` computes it."""
    limit = _limit(limit)
    groups = group_columns(group_by)
    bucket = bucket_seconds(freq)
    offset = 0 if cursor is None else _decode(cursor, _SpendCursor).offset
    w = where(store.dialect, since, until, filters)
    sql, params = select_spend(w, groups, bucket, limit=limit + 1, offset=offset)
    names, rows = await asyncio.to_thread(store.fetch, sql, params)
    items = [_spend_row(names, store.dialect.decode(names, row), groups) for row in rows[:limit]]
    next_cursor = _encode(_SpendCursor(offset=offset + limit)) if len(rows) > limit else None
    return SpendPage(group_by=groups, freq=freq, items=items, next_cursor=next_cursor)


def _spend_row(names: list[str], values: list[object], groups: list[str]) -> SpendRow:
    row = dict(zip(names, values, strict=True))
    period, cost = row.pop("period", None), row["cost_nanos"]
    row["group"] = {g: _text(row.pop(g)) for g in groups}
    row["period"] = None if period is None else datetime.fromtimestamp(cast(int, period), tz=UTC)
    row["cost_usd"] = None if cost is None else nanos_to_usd(cast(int, cost))
    saved = row["saved_nanos"]
    row["saved_usd"] = None if saved is None else nanos_to_usd(cast(int, saved))
    hits, requests = cast(int, row["cache_hits"]), cast(int, row["requests"])
    row["hit_ratio"] = hits / requests if requests else 0.0
    return msgspec.convert(row, SpendRow)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise LogQueryError(f"limit: must be between 1 and {MAX_PAGE}", param="limit")
    return limit


def _encode(cursor: Struct) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def _decode(cursor: str, kind: type[C]) -> C:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise LogQueryError("cursor: not a cursor this listing returned", param="cursor") from None
