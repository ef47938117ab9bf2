"""`reprice`: a log or a trace at other models or prices, exact per row and in total."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from govern.catalog import Catalog, NoOutputPrice
from govern.catalog.prices import LongContextTier, Price, TokenRates
from govern.logs import SQLiteStore, requests
from govern.traces import read
from govern.whatif import reprice
from tests.conftest import CONV_TRACE
from tests.logs.records import record

MINI, SONNET = "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The bundled catalog, no overrides."""
    return Catalog()


def trace(*rows: tuple[int, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ContextTokens", "GeneratedTokens"])


def test_a_trace_row_at_a_model(catalog: Catalog) -> None:
    result = reprice(trace((1000, 200), (10, 1)), models=[MINI], catalog=catalog)
    # gpt-4o-mini: $0.15 and $0.60 per MTok, 150 and 600 nano-dollars a token.
    # 1000*150 + 200*600 = 270_000; 10*150 + 1*600 = 2_100.
    assert result.rows["cost_nanos"].tolist() == [270_000, 2_100]
    assert result.totals.loc[0, "cost_nanos"] == 272_100
    assert result.total(MINI) == Decimal("0.0002721")


def test_a_trace_has_no_savings_without_a_baseline(catalog: Catalog) -> None:
    totals = reprice(trace((1000, 200)), models=[MINI], catalog=catalog).totals
    assert totals.loc[0, "savings_nanos"] is pd.NA
    assert totals.loc[0, "compared_requests"] == 0


def test_savings_against_a_baseline_model(catalog: Catalog) -> None:
    result = reprice(trace((1000, 200)), models=[MINI], baseline=SONNET, catalog=catalog)
    totals = result.totals.set_index("scenario")
    # sonnet-4.5: $3 in, $15 out: 1000*3000 + 200*15000 = 6_000_000 nanos; mini 270_000.
    assert totals.loc[MINI, "actual_nanos"] == 6_000_000
    assert totals.loc[MINI, "savings_nanos"] == 5_730_000
    assert totals.loc[MINI, "savings_pct"] == pytest.approx(0.955)
    assert totals.loc[SONNET, "savings_nanos"] == 0
    assert list(result.totals["scenario"]) == [MINI, SONNET]  # cheapest first


def test_prices_given_as_rates(catalog: Catalog) -> None:
    half = {"input": "0.075", "output": Decimal("0.30")}
    result = reprice(trace((1000, 200)), prices={"half": half}, catalog=catalog)
    assert result.rows["cost_nanos"].tolist() == [135_000]
    assert result.totals.loc[0, "source"] == "prices"


def test_a_long_prompt_is_billed_at_its_tier() -> None:
    long = TokenRates.of(Decimal(2), Decimal(4))
    price = Price.with_tiers(
        TokenRates.of(Decimal(1), Decimal(2)),
        (LongContextTier(above_input_tokens=1000, rates=long),),
    )
    result = reprice(trace((1000, 10), (1001, 10)), prices={"tiered": price})
    # At the threshold: base, 1000*1000 + 10*2000; above it: 1001*2000 + 10*4000.
    assert result.rows["cost_nanos"].tolist() == [1_020_000, 2_042_000]


def log_frame(tmp_path: Path, *records: object) -> pd.DataFrame:
    store = SQLiteStore(tmp_path / "requests.db")
    store.insert(list(records))  # type: ignore[arg-type]
    frame = requests(store)
    store.close()
    return frame


def test_a_log_at_its_own_model_saves_nothing(tmp_path: Path, catalog: Catalog) -> None:
    small = record(1, input_tokens=10, output_tokens=1, cost_nanos=2100)
    log = log_frame(tmp_path, record(0), small)
    totals = reprice(log, models=[MINI], catalog=catalog).totals
    assert totals.loc[0, "actual_nanos"] == totals.loc[0, "cost_nanos"] == 272_100
    assert totals.loc[0, "savings_nanos"] == 0


def test_a_log_at_a_dearer_model_costs_more(tmp_path: Path, catalog: Catalog) -> None:
    log = log_frame(tmp_path, record(0))
    rows = reprice(log, models=[SONNET], catalog=catalog).rows
    assert rows.loc[0, "actual_nanos"] == 270_000
    assert rows.loc[0, "cost_nanos"] == 6_000_000
    assert rows.loc[0, "savings_nanos"] == -5_730_000


def test_rejections_are_left_out_and_cache_hits_cost_nothing(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = log_frame(
        tmp_path,
        record(0),
        record(1, attempt=0, status=402, input_tokens=0, output_tokens=0, cost_nanos=None),
        record(2, cache="exact", cost_nanos=0),
    )
    result = reprice(log, models=[SONNET], catalog=catalog)
    assert result.totals.loc[0, "requests"] == 2
    assert result.rows["cost_nanos"].tolist() == [6_000_000, 0]


def test_unpriced_log_rows_are_not_compared(tmp_path: Path, catalog: Catalog) -> None:
    log = log_frame(tmp_path, record(0), record(1, cost_nanos=None, unpriced=True))
    totals = reprice(log, models=[MINI], catalog=catalog).totals
    assert totals.loc[0, "compared_requests"] == 1
    assert totals.loc[0, "actual_nanos"] == 270_000
    assert totals.loc[0, "cost_nanos"] == 540_000
    assert totals.loc[0, "savings_nanos"] == 0


def test_the_shared_trace_in_well_under_ten_seconds(catalog: Catalog) -> None:
    conv = read(CONV_TRACE)
    started = time.perf_counter()
    result = reprice(conv, models=[MINI, SONNET], baseline="openai/gpt-4o", catalog=catalog)
    assert time.perf_counter() - started < 10
    assert len(result.rows) == 3 * len(conv) == 3 * 19_366
    # Rates of whole nano-dollars per token: no rounding, so the total is compare's.
    expected = catalog.compare(conv, [MINI]).loc[0, "total_nanos"]
    assert result.totals.set_index("scenario").loc[MINI, "cost_nanos"] == expected


def test_reprice_needs_a_scenario(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="models="):
        reprice(trace((1, 1)), catalog=catalog)


def test_an_unknown_model_is_named(catalog: Catalog) -> None:
    with pytest.raises(LookupError, match="no price for openai/gpt-99"):
        reprice(trace((1, 1)), models=["openai/gpt-99"], catalog=catalog)


def test_a_bad_rate_name_is_named(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match=r"prices\['x'\].*got \['inptu'\]"):
        reprice(trace((1, 1)), prices={"x": {"inptu": 1}}, catalog=catalog)


def test_output_at_an_input_only_price_is_refused(catalog: Catalog) -> None:
    embedding = Price.with_tiers(TokenRates.of(Decimal("0.02"), None))
    with pytest.raises(NoOutputPrice, match="embed"):
        reprice(trace((10, 1)), prices={"embed": embedding}, catalog=catalog)


def test_a_frame_without_tokens_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="ContextTokens"):
        reprice(pd.DataFrame({"x": [1]}), models=[MINI], catalog=catalog)
