"""`govern.panels.live_spend()`: spend per model, over time, latest requests, budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govern.logs import SQLiteStore
from govern.notebook import session
from govern.panels import live_spend
from govern.panels.live_spend_panel import bar_style
from tests.logs.records import record
from tests.notebook.conftest import chat

PNG = b"\x89PNG"


def write(folder: Path, *records: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    store = SQLiteStore(folder / "requests.db")
    store.insert(list(records))  # type: ignore[arg-type]
    store.close()


def recent(n: int, ago: timedelta = timedelta(minutes=1), **fields: object) -> object:
    return record(n, ts=datetime.now(UTC) - ago, **fields)


def test_spend_per_model_in_the_window(tmp_path: Path) -> None:
    write(
        tmp_path,
        recent(1),
        recent(2, model_served="gpt-4o", cost_nanos=5_000_000),
        recent(3, ago=timedelta(hours=3)),
    )
    panel = live_spend(None, source=tmp_path)
    spend = panel.spend
    assert spend is not None
    by_model = spend.set_index("model_served")["cost_nanos"].to_dict()
    assert by_model == {"gpt-4o-mini": 270_000, "gpt-4o": 5_000_000}  # the 3 h old row is out
    assert "$0.0053 in this window" in panel.state.value  # 5_270_000 nanos
    assert bytes(panel.chart.value).startswith(PNG)


def test_a_wider_window_takes_older_rows(tmp_path: Path) -> None:
    write(tmp_path, recent(1), recent(2, ago=timedelta(hours=3)))
    panel = live_spend(None, source=tmp_path)
    panel.window.value = "last day"
    assert panel.spend is not None and int(panel.spend["requests"].sum()) == 2
    assert panel.chart_data is not None
    assert panel.chart_data.iloc[-1].sum() == pytest.approx(0.00054)  # cumulative: 2 * 270_000


def test_latest_requests_newest_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        recent(1, ago=timedelta(minutes=5), request_id="older"),
        recent(2, request_id="newer"),
    )
    panel = live_spend(None, source=tmp_path)
    assert panel.requests is not None
    assert list(panel.requests["request_id"]) == ["newer", "older"]


def test_refresh_button_reads_new_rows(tmp_path: Path) -> None:
    write(tmp_path, recent(1))
    panel = live_spend(None, source=tmp_path)
    write(tmp_path, recent(2))
    panel.refresh_button.click()
    assert panel.spend is not None and int(panel.spend["requests"].sum()) == 2


def test_auto_refresh_runs_in_the_background(tmp_path: Path) -> None:
    write(tmp_path, recent(1))
    panel = live_spend(0.05, source=tmp_path)
    try:
        write(tmp_path, recent(2))
        panel.refreshed.clear()
        assert panel.refreshed.wait(5)
        panel.refreshed.clear()
        assert panel.refreshed.wait(5)  # a whole refresh after the write
        assert panel.spend is not None and int(panel.spend["requests"].sum()) == 2
    finally:
        panel.close()
    assert panel._thread is None


def test_an_unreadable_log_is_shown_not_raised(tmp_path: Path) -> None:
    panel = live_spend(None, source=tmp_path / "missing")
    assert panel.error is not None and "no request log" in panel.error
    assert "no request log" in panel.state.value


def test_a_log_alone_shows_why_it_has_no_budgets(tmp_path: Path) -> None:
    write(tmp_path, recent(1))
    panel = live_spend(None, source=tmp_path)
    assert panel.budgets is None
    assert "a request log alone does not know its budgets" in panel.budget_box.children[0].value


def test_watches_the_embedded_gateway_by_default(clean_session: Path) -> None:
    chat()
    panel = live_spend(None)
    running = session.embedded()
    assert running is not None and str(running.data_dir) in panel.state.value
    assert panel.spend is not None and int(panel.spend["requests"].sum()) == 1


@pytest.mark.parametrize(
    ("used", "limit", "style"),
    [
        (0, 100, "success"),
        (79, 100, "success"),
        (80, 100, "warning"),
        (100, 100, "danger"),
        (5, 0, "danger"),
    ],
)
def test_bar_colour_near_the_limit(used: int, limit: int, style: str) -> None:
    assert bar_style(used, limit) == style


def test_budget_bars_of_the_embedded_gateway(clean_session: Path) -> None:
    (clean_session.parent / "govern.toml").write_text(GOVERNED)
    import govern

    govern.client(key="vk-nb").chat.completions.create(
        model="sim/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=8
    )
    panel = live_spend(None)
    assert panel.budgets is not None
    bars = panel.budget_box.children
    assert [bar.children[0].value for bar in bars] == ["team:eng", "key:nb"]
    team_bar = bars[0].children[1]
    assert team_bar.bar_style == "success" and 0 < team_bar.value < 0.001
    assert bars[1].children[2].value.startswith("$")
    assert bars[1].children[2].value.endswith("UTC")


GOVERNED = """
[providers.sim]
models = ["gpt-4o-mini"]

[[pricing.overrides]]
provider = "sim"
model = "gpt-4o-mini"
pricing_as = "openai/gpt-4o-mini"

[[governance.teams]]
id = "eng"
budgets = [{ max_usd = "20", reset = "1d" }]

[[governance.virtual_keys]]
id = "nb"
value = "vk-nb"
team = "eng"
budgets = [{ max_usd = "0.0001", reset = "1h" }]
"""
