"""Budget and rate-limit windows: when a window started and when it resets.

Pure functions of an injected clock (epoch seconds, int or float). Two alignments:

- `calendar` (the default), in UTC: a minute or hour starts on the minute or hour, a day
  at midnight, a week on Monday 00:00, a month on the 1st at midnight.
- `rolling`: periods follow each other from an anchor (the limit's creation time, taken
  to the whole second), so a daily budget created at 14:30 resets at 14:30. A rolling
  month runs to the same day of the next month, clamped to that month's length (anchored
  on Jan 31: Feb 28 or 29, then Mar 31), always counted from the anchor so a short month
  does not shift later ones.

`never` is one window from the anchor (calendar: from the epoch) that never resets; its
`reset_at` is `math.inf`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal, get_args

Period = Literal["1m", "1h", "1d", "1w", "1M", "never"]
Alignment = Literal["calendar", "rolling"]

PERIODS: tuple[str, ...] = get_args(Period)
ALIGNMENTS: tuple[str, ...] = get_args(Alignment)

NEVER = math.inf
"""The `reset_at` of a window that never resets."""

_FIXED: dict[str, int] = {"1m": 60, "1h": 3_600, "1d": 86_400, "1w": 604_800}
# 1970-01-01 was a Thursday: the first Monday 00:00 UTC is four days after the epoch.
_MONDAY = 4 * 86_400


def window_bounds(
    period: Period, alignment: Alignment, anchor: float, now: float
) -> tuple[float, float]:
    """The `(start, reset_at)` of the `period` window containing `now` (start <= now < reset)."""
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment: expected one of {', '.join(ALIGNMENTS)}, got {alignment!r}")
    rolling = alignment == "rolling"
    if rolling:
        # Whole seconds keep every boundary an exact float, so windows tile time exactly.
        anchor = float(math.floor(anchor))
    if period == "never":
        return (anchor if rolling else 0.0), NEVER
    if period == "1M":
        return _rolling_month(anchor, now) if rolling else _calendar_month(now)
    size = _FIXED.get(period)
    if size is None:
        raise ValueError(f"period: expected one of {', '.join(PERIODS)}, got {period!r}")
    if rolling:
        k = math.floor((now - anchor) / size)
        # The float division may round across a boundary: step back into place.
        while anchor + k * size > now:
            k -= 1
        while anchor + (k + 1) * size <= now:
            k += 1
        return anchor + k * size, anchor + (k + 1) * size
    origin = _MONDAY if period == "1w" else 0
    start = math.floor((now - origin) / size) * size + origin
    return float(start), float(start + size)


def period_seconds(period: Period) -> float:
    """The nominal length of a period (a month counts 31 days; `never` is infinite)."""
    if period == "never":
        return NEVER
    if period == "1M":
        return 31 * 86_400.0
    return float(_FIXED[period])


def _calendar_month(now: float) -> tuple[float, float]:
    # Whole seconds: datetime rounds to microseconds, which could carry into the next month.
    moment = datetime.fromtimestamp(math.floor(now), UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return start.timestamp(), datetime(year, month, 1, tzinfo=UTC).timestamp()


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (datetime(year, month + 1, 1) - datetime(year, month, 1)).days


def _add_months(origin: datetime, months: int) -> float:
    """`origin` plus `months` calendar months, the day clamped to the target month."""
    index = origin.year * 12 + (origin.month - 1) + months
    year, month = divmod(index, 12)
    day = min(origin.day, _days_in_month(year, month + 1))
    return origin.replace(year=year, month=month + 1, day=day).timestamp()


def _rolling_month(anchor: float, now: float) -> tuple[float, float]:
    origin = datetime.fromtimestamp(anchor, UTC)
    moment = datetime.fromtimestamp(math.floor(now), UTC)
    # A first guess from the calendar months between them, then at most a step back or
    # forward (the anchor's day and time decide which side of the boundary `now` is on).
    k = (moment.year - origin.year) * 12 + (moment.month - origin.month)
    while _add_months(origin, k) > now:
        k -= 1
    while _add_months(origin, k + 1) <= now:
        k += 1
    return _add_months(origin, k), _add_months(origin, k + 1)
