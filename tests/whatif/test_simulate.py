"""`simulate`: a trace through a budget hierarchy, with the gateway's ledger and windows."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from govern.catalog import Catalog
from govern.traces import read
from govern.whatif import simulate
from tests.conftest import CONV_TRACE

MINI = "openai/gpt-4o-mini"
T0 = datetime(2026, 3, 2, 23, 59, 0, tzinfo=UTC)
# A call of 1000 input and 500 output tokens at gpt-4o-mini ($0.15 and $0.60 per MTok):
# 1000 * 150 + 500 * 600 = 450_000 nano-dollars.
CALL_NANOS = 450_000


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def calls(*seconds: float, tokens: tuple[int, int] = (1000, 500)) -> pd.DataFrame:
    """Identical calls at T0 plus each offset."""
    return pd.DataFrame(
        {
            "TIMESTAMP": [T0 + pd.Timedelta(seconds=s) for s in seconds],
            "ContextTokens": tokens[0],
            "GeneratedTokens": tokens[1],
        }
    )


def key(**fields: Any) -> dict[str, Any]:
    return {"virtual_keys": [{"id": "nb", **fields}]}


def budget(usd: str, reset: str = "never", **fields: Any) -> dict[str, Any]:
    return {"max_usd": usd, "reset": reset, **fields}


def run(hierarchy: dict[str, Any], trace: pd.DataFrame, catalog: Catalog, **kw: Any) -> Any:
    return simulate(hierarchy, trace, kw.pop("model", MINI), catalog=catalog, **kw)


def test_the_shared_trace_admits_what_a_greedy_check_admits(catalog: Catalog) -> None:
    conv = read(CONV_TRACE)
    started = time.perf_counter()
    result = run(key(budgets=[budget("0.50")]), conv, catalog)
    assert time.perf_counter() - started < 10
    # Independently: admit a row while the spend so far plus its cost fits in $0.50.
    costs = conv["ContextTokens"] * 150 + conv["GeneratedTokens"] * 600
    spent, greedy = 0, []
    for cost in costs:
        greedy.append(spent + cost <= 500_000_000)
        spent += cost if greedy[-1] else 0
    assert (result.requests["admitted"].to_numpy() == np.array(greedy)).all()
    assert result.requests["cost_nanos"].sum() == spent
    assert set(result.requests.loc[~result.requests["admitted"], "status"]) == {402}


def test_a_key_budget_rejects_with_402_naming_it(catalog: Catalog) -> None:
    requests = run(key(budgets=[budget("0.001")]), calls(0, 1, 2), catalog).requests
    # 2 * 450_000 fits in 1_000_000 nanos; a third call would make 1_350_000.
    assert requests["status"].tolist() == [200, 200, 402]
    rejected = requests.iloc[2]
    assert (rejected["rejected_tier"], rejected["rejected_entity"]) == ("key", "nb")
    assert rejected["rejected_by"] == "key:nb:budget:never"
    assert requests["cost_nanos"].tolist() == [CALL_NANOS, CALL_NANOS, 0]


@pytest.mark.parametrize("tier", ["customer", "team"])
def test_each_tier_blocks_on_its_own_budget(catalog: Catalog, tier: str) -> None:
    hierarchy = {
        "customers": [
            {"id": "acme", **({"budgets": [budget("0.0005")]} if tier == "customer" else {})}
        ],
        "teams": [
            {
                "id": "eng",
                "customer": "acme",
                **({"budgets": [budget("0.0005")]} if tier == "team" else {}),
            }
        ],
        "virtual_keys": [{"id": "nb", "team": "eng", "budgets": [budget("1")]}],
    }
    requests = run(hierarchy, calls(0, 1), catalog).requests
    assert requests["status"].tolist() == [200, 402]
    entity = "acme" if tier == "customer" else "eng"
    assert (requests.loc[1, "rejected_tier"], requests.loc[1, "rejected_entity"]) == (tier, entity)


def test_a_provider_config_out_of_budget_falls_back_to_the_next(catalog: Catalog) -> None:
    hierarchy = key(
        providers=[
            {"provider": "openai", "budgets": [budget("0.0005")]},
            {"provider": "openai", "name": "backup"},
        ]
    )
    requests = run(hierarchy, calls(0, 1), catalog).requests
    assert requests["status"].tolist() == [200, 200]
    assert requests["provider_config"].tolist() == ["openai", "backup"]


def test_a_rate_limit_rejects_with_429_until_the_window_rolls(catalog: Catalog) -> None:
    # T0 is 23:59:00: calendar minutes; the fourth call is in the next minute.
    hierarchy = key(rate_limits=[{"requests": 2, "reset": "1m"}])
    requests = run(hierarchy, calls(0, 10, 20, 60), catalog).requests
    assert requests["status"].tolist() == [200, 200, 429, 200]
    assert requests.loc[2, "rejected_by"] == "key:nb:rate:1m:requests"


def test_a_token_limit_counts_what_it_is_told_to(catalog: Catalog) -> None:
    hierarchy = key(rate_limits=[{"tokens": 1000, "count": "output", "reset": "1h"}])
    # 500 output tokens a call: two fit in 1000.
    assert run(hierarchy, calls(0, 1, 2), catalog).requests["status"].tolist() == [200, 200, 429]


def test_a_daily_budget_resets_at_midnight_utc(catalog: Catalog) -> None:
    hierarchy = key(budgets=[budget("0.0005", "1d")])
    # 23:59:00 admitted, 23:59:30 over budget, 00:00:00 a new day.
    requests = run(hierarchy, calls(0, 30, 60), catalog).requests
    assert requests["status"].tolist() == [200, 402, 200]


def test_a_rolling_window_starts_with_the_simulation(catalog: Catalog) -> None:
    hierarchy = key(budgets=[budget("0.0005", "1h", window="rolling")])
    requests = run(hierarchy, calls(0, 60, 3600), catalog).requests
    assert requests["status"].tolist() == [200, 402, 200]  # the hour runs from T0


def test_an_optimistic_budget_admits_while_under_and_overshoots(catalog: Catalog) -> None:
    reserve = run(key(budgets=[budget("0.0006")]), calls(0, 1, 2), catalog).requests
    optimistic = run(key(budgets=[budget("0.0006", mode="optimistic")]), calls(0, 1, 2), catalog)
    assert reserve["status"].tolist() == [200, 402, 402]
    # 0 < 600_000 admits; 450_000 < 600_000 admits; 900_000 does not.
    assert optimistic.requests["status"].tolist() == [200, 200, 402]


def test_calls_in_flight_hold_concurrency_slots(catalog: Catalog) -> None:
    requests = run(key(max_concurrent=1), calls(0, 5, 10), catalog, duration=10).requests
    # The first holds its slot until 10 s: the call at 5 s is refused, the one at 10 s not.
    assert requests["status"].tolist() == [200, 429, 200]
    assert requests.loc[1, "rejected_by"] == "key:nb:concurrent"


def test_a_model_the_key_may_not_use_is_403(catalog: Catalog) -> None:
    requests = run(key(models=["anthropic/*"]), calls(0), catalog).requests
    assert (requests.loc[0, "status"], requests.loc[0, "rejected_by"]) == (403, "model_not_allowed")


def test_a_model_mix_is_drawn_per_row(catalog: Catalog) -> None:
    mix = {MINI: 3, "openai/gpt-4o": 1}
    first = run(key(), calls(*range(400)), catalog, model=mix, seed=1).requests
    again = run(key(), calls(*range(400)), catalog, model=mix, seed=1).requests
    assert first["model"].tolist() == again["model"].tolist()
    assert first["model"].value_counts()[MINI] == pytest.approx(300, abs=40)
    gpt4o = first[first["model"] == "openai/gpt-4o"]
    # gpt-4o: $2.50 and $10 per MTok: 1000 * 2500 + 500 * 10_000 = 7_500_000.
    assert set(gpt4o["cost_nanos"]) == {7_500_000}


def test_the_timeline_follows_each_window(catalog: Catalog) -> None:
    result = run(key(budgets=[budget("0.001", "1d")]), calls(0, 30, 60), catalog)
    steps = result.timeline
    assert steps["used"].tolist() == [CALL_NANOS, 2 * CALL_NANOS, CALL_NANOS]
    assert steps["window_start"].iloc[-1] == datetime(2026, 3, 3, tzinfo=UTC)
    summary = result.summary.set_index("cap").loc["key:nb:budget:1d"]
    assert (summary["admitted"], summary["rejected"]) == (3, 0)
    assert summary["charged"] == Decimal("0.00135")  # 3 * 450_000 nanos, exactly


def test_start_moves_the_trace(catalog: Catalog) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    requests = run(key(), calls(0, 90), catalog, start=start).requests
    assert requests["ts"].tolist() == [start, start + pd.Timedelta(seconds=90)]


@pytest.mark.parametrize(
    ("hierarchy", "kw", "error", "match"),
    [
        ({"virtual_keys": []}, {}, ValueError, "declared: none"),
        (key(), {"key": "other"}, ValueError, "no virtual key 'other'"),
        ({"teams": [{"id": "a b"}]}, {}, ValueError, r"hierarchy\.teams\[0\]\.id"),
        ({"teams": "eng"}, {}, ValueError, "hierarchy: Expected `array`"),
        (key(), {"model": "openai/gpt-99"}, LookupError, "no price for openai/gpt-99"),
    ],
)
def test_bad_input_is_named(
    catalog: Catalog, hierarchy: dict[str, Any], kw: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        run(hierarchy, calls(0), catalog, **kw)


def test_a_rejection_carries_the_gateways_message(catalog: Catalog) -> None:
    requests = run(key(budgets=[budget("0.0005", "1d")]), calls(0, 1), catalog).requests
    assert requests.loc[0, "message"] is pd.NA
    assert requests.loc[1, "message"] == (
        "budget exceeded: key 'nb' has a $0.0005 day budget; $0.00045 spent and $0 reserved, "
        "and this call may cost up to $0.00045; the window resets at 2026-03-03T00:00:00Z"
    )
