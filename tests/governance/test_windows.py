"""Window boundaries: calendar (UTC) and rolling, at every edge that has bitten someone."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govern.governance.windows import NEVER, PERIODS, period_seconds, window_bounds


def ts(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> float:
    """Epoch seconds of a UTC date and time."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC).timestamp()


# --- calendar ---------------------------------------------------------------------------


def test_minute_starts_on_the_minute() -> None:
    assert window_bounds("1m", "calendar", 0, ts(2024, 5, 6, 12, 34, 56, us=700_000)) == (
        ts(2024, 5, 6, 12, 34),
        ts(2024, 5, 6, 12, 35),
    )


def test_minute_boundary_belongs_to_the_new_minute() -> None:
    assert window_bounds("1m", "calendar", 0, ts(2024, 5, 6, 12, 35)) == (
        ts(2024, 5, 6, 12, 35),
        ts(2024, 5, 6, 12, 36),
    )


def test_hour_starts_on_the_hour() -> None:
    assert window_bounds("1h", "calendar", 0, ts(2024, 5, 6, 23, 59, 59)) == (
        ts(2024, 5, 6, 23),
        ts(2024, 5, 7, 0),
    )


def test_day_runs_midnight_to_midnight_utc() -> None:
    last_moment = ts(2024, 5, 6, 23, 59, 59, us=999_999)
    assert window_bounds("1d", "calendar", 0, last_moment) == (ts(2024, 5, 6), ts(2024, 5, 7))
    assert window_bounds("1d", "calendar", 0, ts(2024, 5, 7)) == (ts(2024, 5, 7), ts(2024, 5, 8))


def test_integer_clock_is_accepted() -> None:
    now = int(ts(2024, 5, 6, 10))
    assert window_bounds("1d", "calendar", 0, now) == (ts(2024, 5, 6), ts(2024, 5, 7))


def test_week_starts_on_monday() -> None:
    thursday = ts(2024, 3, 7, 15)
    assert window_bounds("1w", "calendar", 0, thursday) == (ts(2024, 3, 4), ts(2024, 3, 11))


def test_week_rolls_over_at_monday_midnight() -> None:
    sunday_night = ts(2024, 3, 10, 23, 59, 59)
    monday = ts(2024, 3, 11)
    assert window_bounds("1w", "calendar", 0, sunday_night)[1] == monday
    assert window_bounds("1w", "calendar", 0, monday) == (monday, ts(2024, 3, 18))


def test_week_spans_the_new_year() -> None:
    new_years_eve = ts(2024, 12, 31, 12)  # a Tuesday
    assert window_bounds("1w", "calendar", 0, new_years_eve) == (ts(2024, 12, 30), ts(2025, 1, 6))


def test_week_before_the_epochs_first_monday() -> None:
    # 1970-01-01 was a Thursday: its week began Monday 1969-12-29.
    assert window_bounds("1w", "calendar", 0, 0) == (ts(1969, 12, 29), ts(1970, 1, 5))


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (ts(2024, 1, 31, 23, 59, 59), ts(2024, 1, 1), ts(2024, 2, 1)),
        (ts(2024, 2, 29, 23, 59, 59), ts(2024, 2, 1), ts(2024, 3, 1)),  # leap year
        (ts(2023, 2, 28, 23, 59, 59), ts(2023, 2, 1), ts(2023, 3, 1)),
        (ts(2024, 4, 30, 12), ts(2024, 4, 1), ts(2024, 5, 1)),  # 30 days
        (ts(2024, 12, 31, 23, 59, 59), ts(2024, 12, 1), ts(2025, 1, 1)),  # year end
        (ts(2024, 3, 1), ts(2024, 3, 1), ts(2024, 4, 1)),  # the 1st belongs to its month
    ],
)
def test_calendar_month(now: float, start: float, reset: float) -> None:
    assert window_bounds("1M", "calendar", 0, now) == (start, reset)


def test_calendar_never_is_one_window_from_the_epoch() -> None:
    assert window_bounds("never", "calendar", ts(2024, 1, 1), ts(2030, 1, 1)) == (0.0, NEVER)


# --- rolling ----------------------------------------------------------------------------


def test_rolling_day_resets_at_the_anchors_time() -> None:
    anchor = ts(2024, 5, 6, 14, 30)
    assert window_bounds("1d", "rolling", anchor, ts(2024, 5, 8, 10)) == (
        ts(2024, 5, 7, 14, 30),
        ts(2024, 5, 8, 14, 30),
    )


def test_rolling_boundary_belongs_to_the_new_window() -> None:
    anchor = ts(2024, 5, 6, 14, 30)
    assert window_bounds("1h", "rolling", anchor, ts(2024, 5, 6, 16, 30)) == (
        ts(2024, 5, 6, 16, 30),
        ts(2024, 5, 6, 17, 30),
    )


def test_rolling_first_window_starts_at_the_anchor() -> None:
    anchor = ts(2024, 5, 6, 14, 30, 15)
    assert window_bounds("1m", "rolling", anchor, anchor) == (anchor, anchor + 60)


def test_rolling_anchor_is_taken_to_the_whole_second() -> None:
    anchor = ts(2024, 5, 6, 14, 30, 15, us=750_000)
    assert window_bounds("1h", "rolling", anchor, anchor) == (
        ts(2024, 5, 6, 14, 30, 15),
        ts(2024, 5, 6, 15, 30, 15),
    )


def test_rolling_week_ignores_mondays() -> None:
    anchor = ts(2024, 3, 7, 9)  # a Thursday
    assert window_bounds("1w", "rolling", anchor, ts(2024, 3, 11, 12)) == (
        anchor,
        ts(2024, 3, 14, 9),
    )


def test_rolling_before_the_anchor_counts_back() -> None:
    anchor = ts(2024, 5, 6, 14, 30)
    assert window_bounds("1d", "rolling", anchor, ts(2024, 5, 6, 14)) == (
        ts(2024, 5, 5, 14, 30),
        anchor,
    )


def test_rolling_month_clamps_to_a_leap_february() -> None:
    anchor = ts(2024, 1, 31, 10)
    assert window_bounds("1M", "rolling", anchor, ts(2024, 2, 15)) == (anchor, ts(2024, 2, 29, 10))


def test_rolling_month_clamps_to_a_common_february() -> None:
    anchor = ts(2023, 1, 31, 10)
    assert window_bounds("1M", "rolling", anchor, ts(2023, 2, 15)) == (anchor, ts(2023, 2, 28, 10))


def test_rolling_month_returns_to_the_anchor_day_after_a_short_month() -> None:
    # Counted from the anchor, not from the clamped Feb 28: March's window ends on the 31st.
    anchor = ts(2023, 1, 31, 10)
    assert window_bounds("1M", "rolling", anchor, ts(2023, 3, 15)) == (
        ts(2023, 2, 28, 10),
        ts(2023, 3, 31, 10),
    )


def test_rolling_month_on_the_anchor_day_before_its_time() -> None:
    anchor = ts(2024, 1, 15, 12)
    assert window_bounds("1M", "rolling", anchor, ts(2024, 3, 15, 11, 59, 59)) == (
        ts(2024, 2, 15, 12),
        ts(2024, 3, 15, 12),
    )
    assert window_bounds("1M", "rolling", anchor, ts(2024, 3, 15, 12))[0] == ts(2024, 3, 15, 12)


def test_rolling_month_across_the_year() -> None:
    anchor = ts(2023, 11, 30, 8)
    assert window_bounds("1M", "rolling", anchor, ts(2024, 1, 5)) == (
        ts(2023, 12, 30, 8),
        ts(2024, 1, 30, 8),
    )


def test_rolling_never_starts_at_the_anchor() -> None:
    anchor = ts(2024, 1, 1)
    assert window_bounds("never", "rolling", anchor, ts(2030, 1, 1)) == (anchor, NEVER)


# --- validation and properties ----------------------------------------------------------


def test_unknown_period_is_rejected() -> None:
    with pytest.raises(ValueError, match="period"):
        window_bounds("2d", "calendar", 0, 0)  # type: ignore[arg-type]


def test_unknown_alignment_is_rejected() -> None:
    with pytest.raises(ValueError, match="alignment"):
        window_bounds("1d", "sliding", 0, 0)  # type: ignore[arg-type]


def test_period_seconds() -> None:
    assert period_seconds("1w") == 604_800
    assert period_seconds("1M") == 31 * 86_400
    assert math.isinf(period_seconds("never"))


_TIMES = st.floats(min_value=ts(1990, 1, 1), max_value=ts(2090, 1, 1), allow_nan=False)
_PERIODS = st.sampled_from([p for p in PERIODS if p != "never"])


@given(
    period=_PERIODS, alignment=st.sampled_from(["calendar", "rolling"]), anchor=_TIMES, now=_TIMES
)
def test_windows_contain_now_and_tile_time(
    period: str, alignment: str, anchor: float, now: float
) -> None:
    start, reset = window_bounds(period, alignment, anchor, now)  # type: ignore[arg-type]
    assert start <= now < reset
    assert reset - start <= period_seconds(period)  # type: ignore[arg-type]
    # The next window starts exactly where this one resets: no gap, no overlap.
    assert window_bounds(period, alignment, anchor, reset)[0] == reset  # type: ignore[arg-type]
