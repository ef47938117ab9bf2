"""SQL for the log's queries, from validated arguments only (never caller text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from govern.errors import InvalidRequest
from govern.logs.dialect import Dialect
from govern.logs.record import BOOL_COLUMNS, COLUMNS, INT_COLUMNS, utc

GROUP_COLUMNS: tuple[str, ...] = (
    "provider",
    "model_served",
    "model_requested",
    "key_name",
    "customer_id",
    "team_id",
    "virtual_key_id",
    "cache",
)
"""The columns spend can be grouped by."""

FILTER_COLUMNS: tuple[str, ...] = (
    *GROUP_COLUMNS,
    "request_id",
    "attempt",
    "status",
    "error_type",
    "stream",
    "unpriced",
    "fallback_index",
    "price_source",
)
"""The columns rows can be filtered on (equality, a list of values, or None for null)."""

TOKEN_COLUMNS: tuple[str, ...] = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)
COST_COLUMNS: tuple[str, ...] = (
    "cost_nanos",
    "cost_input_nanos",
    "cost_cache_read_nanos",
    "cost_cache_write_5m_nanos",
    "cost_cache_write_1h_nanos",
    "cost_output_nanos",
    "cost_reasoning_nanos",
    "saved_nanos",
)

Scalar = str | int | bool | None
FilterValue = Scalar | Sequence[Scalar]
TimeArg = datetime | timedelta | str | None
"""A bound: an instant (naive is UTC), an ISO 8601 string, or a timedelta before now."""


class LogQueryError(InvalidRequest, ValueError):
    """A log query argument is not valid (unknown column, bad time, bad cursor)."""


@dataclass(slots=True)
class Where:
    """A WHERE clause being built, with its parameters."""

    dialect: Dialect
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        """AND one more condition (placeholders written as `{p}`)."""
        self.clauses.append(clause.replace("{p}", self.dialect.param))
        self.params.extend(params)

    def sql(self) -> str:
        """The clause, or nothing."""
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def instant(value: TimeArg, name: str) -> datetime | None:
    """A `since`/`until` argument as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return datetime.now(UTC) - value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise LogQueryError(f"{name}: not an ISO 8601 time: {value!r}", param=name) from None
    return utc(value)


def where(
    dialect: Dialect,
    since: TimeArg = None,
    until: TimeArg = None,
    filters: Mapping[str, FilterValue] | None = None,
) -> Where:
    """Rows with `since <= ts < until` matching every filter."""
    w = Where(dialect)
    start, end = instant(since, "since"), instant(until, "until")
    if start is not None:
        w.add("ts >= {p}", dialect.ts_param(start))
    if end is not None:
        w.add("ts < {p}", dialect.ts_param(end))
    for column, value in (filters or {}).items():
        if column not in FILTER_COLUMNS:
            raise LogQueryError(
                f"cannot filter on {column!r}; one of: {', '.join(FILTER_COLUMNS)}",
                param=column,
            )
        if value is None:
            w.add(f"{column} IS NULL")
        elif isinstance(value, str | int | bool):
            w.add(f"{column} = {{p}}", _coerce(column, value))
        elif not value:
            w.add("1 = 0")
        else:
            values = [_coerce(column, v) for v in value]
            w.add(f"{column} IN ({', '.join(['{p}'] * len(values))})", *values)
    return w


def _coerce(column: str, value: Scalar) -> Scalar:
    # Query strings carry text: filters take the column's type, as typed callers pass it.
    if column in BOOL_COLUMNS:
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0"):
                raise LogQueryError(f"{column}: expected true or false", param=column)
            return value.lower() in ("true", "1")
        return bool(value)
    if column in INT_COLUMNS:
        try:
            return int(value) if value is not None else None
        except ValueError:
            raise LogQueryError(f"{column}: expected an integer", param=column) from None
    return value if value is None or isinstance(value, str) else str(value)


def select_rows(
    w: Where, *, newest_first: bool, limit: int | None, offset: int = 0
) -> tuple[str, list[Any]]:
    """Rows in time order (then id), as `id, <record fields>`."""
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT id, {', '.join(COLUMNS)} FROM requests{w.sql()} ORDER BY ts {order}, id {order}"
    params = list(w.params)
    if limit is not None:
        sql += f" LIMIT {w.dialect.param}"
        params.append(int(limit))
    if offset:
        if limit is None:
            sql += " LIMIT -1" if w.dialect.name == "sqlite" else " LIMIT ALL"
        sql += f" OFFSET {w.dialect.param}"
        params.append(int(offset))
    return sql, params


def group_columns(group_by: Sequence[str] | str) -> list[str]:
    """Validated group-by columns (a string is comma-separated)."""
    names = (
        [g.strip() for g in group_by.split(",") if g.strip()]
        if isinstance(group_by, str)
        else list(group_by)
    )
    for name in names:
        if name not in GROUP_COLUMNS:
            raise LogQueryError(
                f"cannot group by {name!r}; one of: {', '.join(GROUP_COLUMNS)}", param="group_by"
            )
    if len(set(names)) != len(names):
        raise LogQueryError("group_by names a column twice", param="group_by")
    return names


def bucket_seconds(freq: str | None) -> int | None:
    """A pandas-style fixed frequency (`1h`, `15min`, `1D`) in whole seconds."""
    if freq is None:
        return None
    import pandas as pd

    try:
        seconds = pd.Timedelta(freq).total_seconds()
    except ValueError:
        raise LogQueryError(
            f"freq: {freq!r} is not a fixed frequency such as 1h, 15min or 1D", param="freq"
        ) from None
    if seconds < 1 or seconds != int(seconds):
        raise LogQueryError("freq: must be a whole number of seconds, at least 1", param="freq")
    return int(seconds)


def select_spend(
    w: Where,
    groups: list[str],
    bucket: int | None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[str, list[Any]]:
    """Per group (and time bucket): attempts, requests, errors, unpriced_count, tokens, costs,
    then cache_hits (rows answered from the gateway's cache)."""
    keys = list(groups)
    select = list(groups)
    if bucket is not None:
        select.append(f"{w.dialect.bucket(bucket)} AS period")
        keys.append("period")
    select += [
        "SUM(cost_nanos) AS cost_nanos",  # NULL when no row in the group is priced
        "COUNT(*) AS attempts",
        "COUNT(DISTINCT request_id) AS requests",
        "SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors",
        "SUM(CASE WHEN unpriced THEN 1 ELSE 0 END) AS unpriced_count",
        *(f"SUM({c}) AS {c}" for c in TOKEN_COLUMNS),
        *(f"SUM({c}) AS {c}" for c in COST_COLUMNS[1:]),
        "SUM(CASE WHEN cache <> 'miss' THEN 1 ELSE 0 END) AS cache_hits",
    ]
    sql = f"SELECT {', '.join(select)} FROM requests{w.sql()}"
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    sql += " HAVING COUNT(*) > 0"
    if keys:  # nulls last in both databases; `period` is an alias, never null
        sql += " ORDER BY " + ", ".join(k if k == "period" else f"{k} IS NULL, {k}" for k in keys)
    params = list(w.params)
    if limit is not None:
        sql += f" LIMIT {w.dialect.param} OFFSET {w.dialect.param}"
        params += [int(limit), int(offset)]
    return sql, params
