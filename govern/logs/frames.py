"""The request log as pandas DataFrames: `spend` and `requests`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from govern.logs.dialect import Dialect
from govern.logs.record import (
    BOOL_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    NULLABLE_INT_COLUMNS,
    nanos_to_usd,
)
from govern.logs.sql import (
    TOKEN_COLUMNS,
    FilterValue,
    TimeArg,
    bucket_seconds,
    group_columns,
    select_rows,
    select_spend,
    where,
)
from govern.logs.store import StoreSource, opened

if TYPE_CHECKING:
    import pandas as pd

_COUNTS = frozenset(
    ("id", "attempts", "requests", "errors", "unpriced_count", "cache_hits", *TOKEN_COLUMNS)
)


def spend(
    source: StoreSource,
    group_by: Sequence[str] | str = (),
    *,
    since: TimeArg = None,
    until: TimeArg = None,
    freq: str | None = None,
    filters: Mapping[str, FilterValue] | None = None,
) -> pd.DataFrame:
    """Cost, tokens, requests and errors per group (and per `freq` period) as a DataFrame.

    `source` is a store, a data directory, a `requests.db` file or a PostgreSQL DSN.
    `group_by` takes any of provider, model_served, model_requested, key_name,
    customer_id, team_id, virtual_key_id, cache. `since` is inclusive, `until`
    exclusive. `freq` (`1h`, `15min`, `1D`) adds a `period` column: UTC buckets aligned
    to the Unix epoch. `cost_nanos` is the exact integer sum, `cost_usd` its (nullable) float view;
    both are missing (not 0) for a group with no priced row, and `unpriced_count` counts the
    rows without a price. `attempts` counts rows, `requests` distinct request ids.

    The gateway cache: `saved_nanos` is the exact sum of what the hits would have cost,
    `saved_usd` its float view (missing when no hit saved anything), `cache_hits` the rows
    answered from the cache and `hit_ratio` the share of `requests` they are.
    """
    groups = group_columns(group_by)
    bucket = bucket_seconds(freq)
    with opened(source) as store:
        w = where(store.dialect, since, until, filters)
        sql, params = select_spend(w, groups, bucket)
        names, rows = store.fetch(sql, params)
        frame = to_frame(store.dialect, names, rows)
    # Floats only for display: each from the exact integer sum, never summed themselves.
    position = len(groups) + (bucket is not None)
    frame.insert(position, "cost_usd", _usd(frame["cost_nanos"]))
    saved = list(frame.columns).index("saved_nanos") + 1
    frame.insert(saved, "saved_usd", _usd(frame["saved_nanos"]))
    frame["hit_ratio"] = (frame["cache_hits"] / frame["requests"]).astype("Float64")
    return frame


def _usd(nanos: pd.Series) -> pd.Series:
    """Exact integer nano-dollar sums as (nullable) float dollars, for display."""
    import pandas as pd

    usd = [None if pd.isna(n) else float(nanos_to_usd(int(n))) for n in nanos]
    return pd.Series(usd, index=nanos.index, dtype="Float64")


def requests(
    source: StoreSource,
    *,
    since: TimeArg = None,
    until: TimeArg = None,
    filters: Mapping[str, FilterValue] | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = False,
) -> pd.DataFrame:
    """Logged rows (one per attempt) as a DataFrame, oldest first unless `newest_first`.

    `filters` maps a column to a value, a list of values, or None (null): for example
    `{"provider": "openai", "status": [429, 500]}`.
    """
    with opened(source) as store:
        w = where(store.dialect, since, until, filters)
        sql, params = select_rows(w, newest_first=newest_first, limit=limit, offset=offset)
        names, rows = store.fetch(sql, params)
        return to_frame(store.dialect, names, rows)


def to_frame(dialect: Dialect, names: list[str], rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Fetched rows as a typed DataFrame: UTC times, exact nullable integers, booleans."""
    import pandas as pd

    decoded = [dialect.decode(names, row) for row in rows]
    # Object columns first: inferred, an integer column with a null would become float64
    # and lose exactness past 2**53 before it could be made nullable Int64.
    frame = pd.DataFrame(decoded, columns=names, dtype=object)
    for name in names:
        column = frame[name]
        if name == "ts":
            frame[name] = pd.to_datetime(column, utc=True)
        elif name == "period":
            frame[name] = pd.to_datetime(column.astype("int64"), unit="s", utc=True)
        elif name in NULLABLE_INT_COLUMNS:
            frame[name] = column.astype("Int64")
        elif name in _COUNTS or name in INT_COLUMNS:
            frame[name] = column.astype("int64")
        elif name in BOOL_COLUMNS:
            frame[name] = column.astype("bool")
        elif name in FLOAT_COLUMNS:
            frame[name] = column.astype("float64")
        else:  # text: missing is pd.NA, as in the nullable integer columns
            frame[name] = column.astype("string")
    return frame
