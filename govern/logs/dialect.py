"""What differs between the SQLite and PostgreSQL request logs: types, times, parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from govern.logs.record import (
    BOOL_COLUMNS,
    COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    NULLABLE_INT_COLUMNS,
    utc,
)


@dataclass(frozen=True, slots=True)
class Dialect:
    """One SQL flavour of the request log's schema and queries."""

    name: str
    param: str
    """The parameter placeholder (`?` or `%s`)."""
    types: dict[str, str]
    """Schema type names for the migrations' `{placeholders}`."""
    epoch: str
    """SQL for the integer Unix time (seconds) of the `ts` column."""

    def ts_param(self, ts: datetime) -> Any:
        """A timestamp as this database stores it."""
        ts = utc(ts)
        if self.name != "sqlite":
            return ts
        # Fixed-width UTC text sorts and compares like the instants it names
        # (`%Y-%m-%dT%H:%M:%S.%fZ`, written by isoformat: four times faster than strftime).
        return ts.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"

    def ts_value(self, value: Any) -> datetime:
        """A stored timestamp as an aware UTC datetime."""
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return utc(value)

    def bucket(self, seconds: int) -> str:
        """SQL for the Unix time of the start of `ts`'s `seconds`-long bucket."""
        return f"(({self.epoch}) / {int(seconds)}) * {int(seconds)}"

    def placeholders(self, count: int) -> str:
        """`count` comma-separated parameter placeholders."""
        return ", ".join([self.param] * count)

    def row(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """A record's field values (`msgspec.structs.astuple`) as insert parameters."""
        out = list(values)
        # PostgreSQL text cannot hold NUL; both stores keep the same text, so both replace it.
        for i in _TEXT:
            v = out[i]
            if v is not None and "\x00" in v:
                out[i] = v.replace("\x00", "\ufffd")
        out[_TS] = self.ts_param(out[_TS])
        return tuple(out)

    def decode(self, names: list[str], values: tuple[Any, ...]) -> list[Any]:
        """A fetched row's values as Python values (bools, UTC datetimes, ints)."""
        out = list(values)
        for i, name in enumerate(names):
            value = out[i]
            if value is None:
                continue
            if name == "ts":
                out[i] = self.ts_value(value)
            elif name in BOOL_COLUMNS:
                out[i] = bool(value)
            elif isinstance(value, Decimal):  # PostgreSQL's SUM of BIGINT is NUMERIC
                out[i] = int(value)
        return out


_TS = COLUMNS.index("ts")
_TEXT = tuple(
    i
    for i, name in enumerate(COLUMNS)
    if name not in INT_COLUMNS | NULLABLE_INT_COLUMNS | BOOL_COLUMNS | FLOAT_COLUMNS
    and name != "ts"
)
"""The text columns (every column but numbers, flags and the time)."""

SQLITE = Dialect(
    name="sqlite",
    param="?",
    types={"id": "INTEGER PRIMARY KEY", "timestamp": "TEXT", "real": "REAL"},
    epoch="CAST(strftime('%s', ts) AS INTEGER)",
)

POSTGRES = Dialect(
    name="postgres",
    param="%s",
    types={
        "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "timestamp": "TIMESTAMPTZ",
        "real": "DOUBLE PRECISION",
    },
    epoch="CAST(floor(extract(epoch FROM ts)) AS BIGINT)",
)
