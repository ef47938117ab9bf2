"""`govern.panels.budget_simulator()`: the editors build the hierarchy; simulate runs it."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from govern.catalog import Catalog
from govern.panels import budget_simulator
from govern.panels.simulator_panel import BudgetSimulatorPanel, parse_mix

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def trace(n: int) -> pd.DataFrame:
    """n calls a second apart, each 1000 in and 500 out: $0.00045 at gpt-4o-mini."""
    return pd.DataFrame(
        {
            "TIMESTAMP": [T0 + pd.Timedelta(seconds=i) for i in range(n)],
            "ContextTokens": 1000,
            "GeneratedTokens": 500,
        }
    )


@pytest.fixture
def panel(catalog: Catalog) -> BudgetSimulatorPanel:
    return budget_simulator(trace(10), mix="openai/gpt-4o-mini", catalog=catalog, draw=False)


def test_the_editors_describe_a_customer_team_key_tree(panel: BudgetSimulatorPanel) -> None:
    section = panel.hierarchy()
    assert [c["id"] for c in section["customers"]] == ["acme"]
    assert section["teams"][0]["customer"] == "acme"
    key = section["virtual_keys"][0]
    assert (key["id"], key["team"]) == ("notebook", "eng")
    assert key["budgets"] == [{"max_usd": "2", "reset": "1h"}]
    assert key["rate_limits"] == [{"reset": "1m", "requests": 300}]


def test_switching_the_team_off_puts_the_key_in_the_customer(panel: BudgetSimulatorPanel) -> None:
    panel.editors["team"].enabled.value = False
    section = panel.hierarchy()
    assert section["teams"] == []
    assert section["virtual_keys"][0]["customer"] == "acme"


def test_run_reports_when_the_key_budget_runs_out(panel: BudgetSimulatorPanel) -> None:
    panel.editors["key"].usd.value = "0.001"  # room for 2 calls of $0.00045
    panel.run_button.click()
    result = panel.result
    assert result is not None and panel.error is None
    assert result.requests["status"].tolist() == [200, 200] + [402] * 8
    assert "<b>2</b> of 10 requests admitted; rejected: 8 with 402" in panel.state.value
    row = result.summary.set_index("entity").loc["notebook"]
    row = row[row["kind"] == "usd"].iloc[0]
    assert (row["rejected"], row["first_rejected"]) == (8, T0 + pd.Timedelta(seconds=2))
    assert "2026-03-02 12:00:02" in panel.table.value


def test_a_rate_limit_edit_takes_effect(panel: BudgetSimulatorPanel) -> None:
    panel.editors["key"].requests.value = "3"
    panel.run()
    assert panel.result is not None
    assert int(panel.result.requests["admitted"].sum()) == 3


def test_in_flight_calls_hold_slots(panel: BudgetSimulatorPanel) -> None:
    panel.editors["key"].concurrent.value = "1"
    panel.duration.value = 2.5  # a call a second, each lasting 2.5 s
    panel.run()
    assert panel.result is not None
    assert panel.result.requests["status"].tolist()[:4] == [200, 429, 429, 200]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("key", "usd", "lots"), "budget: 'lots' is not an amount of dollars"),
        (("team", "requests", "-3"), "requests: must be >= 0"),
        (("key", "enabled", False), "the key tier cannot be switched off"),
        (("key", "entity_id", "no spaces"), "virtual_keys[0].id"),
    ],
)
def test_bad_values_are_shown_not_raised(
    panel: BudgetSimulatorPanel, edit: tuple[str, str, object], message: str
) -> None:
    tier, field, value = edit
    getattr(panel.editors[tier], field).value = value
    panel.run()
    assert panel.result is None and panel.error is not None
    assert message in panel.error and message.split(":")[0] in panel.state.value


def test_a_bad_model_mix_is_shown(panel: BudgetSimulatorPanel) -> None:
    panel.mix.value = "openai/gpt-99"
    panel.run()
    assert panel.error == "no price for openai/gpt-99; see govern.catalog.models()"


def test_parse_mix() -> None:
    assert parse_mix("openai/gpt-4o-mini=3, openai/gpt-4o\n") == {
        "openai/gpt-4o-mini": 3.0,
        "openai/gpt-4o": 1.0,
    }
    with pytest.raises(ValueError, match="not a weight"):
        parse_mix("openai/gpt-4o=heavy")


def test_the_hierarchy_is_shown_as_toml_and_charted(catalog: Catalog) -> None:
    panel = budget_simulator(trace(5), mix="openai/gpt-4o-mini", catalog=catalog)
    panel.run()
    assert "[[governance.teams]]" in panel.declaration.value
    assert bytes(panel.chart.value).startswith(b"\x89PNG")
