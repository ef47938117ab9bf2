"""spend() and requests(): DataFrames from either store, exact money."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from govern.logs import LogQueryError, LogStore, requests, spend
from tests.logs.records import T0, record

MIN = 60


def seed(store: LogStore) -> None:
    store.insert(
        [
            record(0, customer_id="c1"),
            record(10 * MIN, customer_id="c1", stream=True, ttft_ms=40.0),
            record(70 * MIN, customer_id="c2"),
            record(
                5 * MIN,
                request_id="req_a",
                provider="anthropic",
                model_served="claude",
                status=429,
                error_type="rate_limited",
                cost_nanos=None,
                cost_input_nanos=None,
                cost_output_nanos=None,
                input_tokens=0,
                output_tokens=0,
            ),
            record(
                6 * MIN,
                request_id="req_a",
                attempt=2,
                provider="anthropic",
                model_served="claude",
                cost_nanos=1_000_000_001,
            ),
            *(
                record(
                    7 * MIN + i,
                    provider="groq",
                    model_served="llama",
                    unpriced=True,
                    cost_nanos=None,
                    cost_input_nanos=None,
                    cost_output_nanos=None,
                    price_source=None,
                )
                for i in range(2)
            ),
            record(
                8 * MIN,
                provider=None,
                model_served=None,
                key_name=None,
                status=402,
                error_type="budget_exceeded",
                attempt=0,
                cost_nanos=None,
                input_tokens=0,
                output_tokens=0,
                cost_input_nanos=None,
                cost_output_nanos=None,
            ),
        ]
    )


def test_spend_by_provider_sums_exactly(store: LogStore) -> None:
    seed(store)
    frame = spend(store, group_by=["provider"])
    assert frame["provider"].tolist()[:3] == ["anthropic", "groq", "openai"]
    assert pd.isna(frame["provider"].iloc[3])  # the rejected request: no provider, last
    openai = frame.set_index("provider").loc["openai"]
    assert openai["cost_nanos"] == 810_000
    assert openai["cost_usd"] == pytest.approx(0.00081)
    assert (openai["attempts"], openai["requests"], openai["errors"]) == (3, 3, 0)
    assert (openai["input_tokens"], openai["output_tokens"]) == (3000, 600)
    anthropic = frame.set_index("provider").loc["anthropic"]
    assert (anthropic["attempts"], anthropic["requests"], anthropic["errors"]) == (2, 1, 1)
    assert anthropic["cost_nanos"] == 1_000_000_001


def test_a_group_without_a_price_has_no_cost_rather_than_zero(store: LogStore) -> None:
    seed(store)
    groq = spend(store, group_by="provider").set_index("provider").loc["groq"]
    assert pd.isna(groq["cost_nanos"])
    assert pd.isna(groq["cost_usd"])
    assert groq["unpriced_count"] == 2


def test_costs_beyond_float_precision_stay_exact(store: LogStore) -> None:
    big = 2**53 + 1  # a float cannot hold it: summing floats would lose the 1s
    store.insert([record(0, cost_nanos=big), record(1, cost_nanos=big)])
    frame = spend(store)
    assert frame["cost_nanos"].dtype == "Int64"
    assert int(frame["cost_nanos"].iloc[0]) == 2 * big


def test_freq_adds_utc_periods_aligned_to_the_hour(store: LogStore) -> None:
    seed(store)
    frame = spend(store, group_by=["provider"], freq="1h", filters={"provider": "openai"})
    assert frame["period"].tolist() == [T0, T0 + timedelta(hours=1)]
    assert frame["attempts"].tolist() == [2, 1]
    assert frame["cost_nanos"].tolist() == [540_000, 270_000]


def test_since_is_inclusive_and_until_exclusive(store: LogStore) -> None:
    seed(store)
    frame = spend(store, since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=10))
    assert frame["attempts"].tolist() == [5]  # minutes 5, 6, 7 (twice), 8
    iso = spend(store, since="2026-03-01T12:05:00+00:00", until="2026-03-01T12:10:00Z")
    assert iso["attempts"].tolist() == [5]


def test_since_may_be_a_duration_before_now(store: LogStore) -> None:
    seed(store)
    assert spend(store, since=timedelta(hours=1)).empty  # the seed is in the past


def test_filters_take_values_lists_and_null(store: LogStore) -> None:
    seed(store)
    assert len(requests(store, filters={"customer_id": "c1"})) == 2
    assert len(requests(store, filters={"provider": ["groq", "anthropic"]})) == 4
    assert requests(store, filters={"provider": None})["status"].tolist() == [402]
    assert len(requests(store, filters={"status": "429"})) == 1  # text, as from a URL
    assert len(requests(store, filters={"stream": "true"})) == 1
    assert requests(store, filters={"provider": []}).empty


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"group_by": ["prompt"]}, "group_by"),
        ({"filters": {"prompt": "x"}}, "prompt"),
        ({"freq": "monthly"}, "freq"),
        ({"freq": "10ms"}, "freq"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_invalid_arguments_are_named(
    store: LogStore, kwargs: dict[str, object], param: str
) -> None:
    with pytest.raises(LogQueryError) as info:
        spend(store, **kwargs)  # type: ignore[arg-type]
    assert info.value.param == param
    assert info.value.status == 400


def test_requests_are_typed_rows_in_time_order(store: LogStore) -> None:
    seed(store)
    frame = requests(store)
    assert frame["ts"].is_monotonic_increasing
    assert str(frame["ts"].dtype).startswith("datetime64") and str(frame["ts"].dt.tz) == "UTC"
    assert frame["cost_nanos"].dtype == "Int64"
    assert frame["stream"].dtype == bool
    assert frame["ttft_ms"].dtype == "float64"
    assert list(frame.columns[:3]) == ["id", "request_id", "attempt"]


def test_requests_pages_with_limit_and_offset(store: LogStore) -> None:
    seed(store)
    everything = requests(store)["request_id"].tolist()
    assert requests(store, limit=2)["request_id"].tolist() == everything[:2]
    assert requests(store, limit=2, offset=2)["request_id"].tolist() == everything[2:4]
    assert requests(store, offset=5)["request_id"].tolist() == everything[5:]
    assert requests(store, newest_first=True)["request_id"].tolist() == everything[::-1]


def test_an_empty_log_gives_empty_typed_frames(store: LogStore) -> None:
    frame = requests(store)
    assert frame.empty and "cost_nanos" in frame.columns
    totals = spend(store, group_by=["model_served"], freq="1D")
    assert totals.empty
    assert {"model_served", "period", "cost_usd", "cost_nanos"} <= set(totals.columns)
