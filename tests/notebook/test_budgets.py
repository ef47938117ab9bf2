"""Budgets as `%govern budgets` and the live-spend panel show them (`GET /api/usage`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from govern.governance.api import EntityUsage
from govern.governance.caps import budget_cap, rate_limit_caps
from govern.governance.meters import CapUsage
from govern.governance.model import Budget, EntityRef, RateLimit
from govern.governance.views import entity_usage
from govern.notebook import session
from govern.notebook.sources import BudgetsUnavailable, LogSource, source_for, usage_frame
from govern.panels.live_spend_panel import budget_bar

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TEAM = EntityRef("team", "eng")


def team_usage() -> list[EntityUsage]:
    """The eng team: $5 a day with $4.20 spent and $0.05 reserved; 60 requests a minute."""
    budget = Budget(
        id="team:eng:budget:1d",
        owner=TEAM,
        max_usd=Decimal(5),
        reset="1d",
        window="calendar",
        mode="reserve",
        source="config",
        created_at=T0,
        updated_at=T0,
    )
    limit = RateLimit(
        id="team:eng:rate:1m",
        owner=TEAM,
        requests=60,
        tokens=None,
        count="total",
        reset="1m",
        window="calendar",
        source="config",
        created_at=T0,
        updated_at=T0,
    )
    caps = [budget_cap(budget), *rate_limit_caps(limit)]
    midnight = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
    counters = {
        budget.id: CapUsage(
            spent=4_200_000_000,
            reserved=50_000_000,
            window_start=midnight,
            reset_at=midnight + 86_400,
        ),
        f"{limit.id}:requests": CapUsage(
            spent=12, reserved=1, window_start=T0.timestamp(), reset_at=T0.timestamp() + 60
        ),
    }
    groups = entity_usage([(TEAM, caps)], counters)
    # As the gateway sends them and the notebook reads them back.
    return msgspec.json.decode(msgspec.json.encode(groups), type=list[EntityUsage])


def test_usage_becomes_one_row_per_cap() -> None:
    frame = usage_frame(team_usage())
    dollars = frame.set_index("kind").loc["usd"]
    assert (dollars["entity"], dollars["tier"]) == ("team:eng", "team")
    assert (dollars["limit"], dollars["spent"], dollars["remaining"]) == (
        Decimal(5),
        Decimal("4.2"),
        Decimal("0.75"),  # 5 - 4.20 - 0.05
    )
    assert dollars["used_share"] == pytest.approx(0.85)
    assert dollars["resets_at"] == datetime(2026, 3, 3, tzinfo=UTC)
    requests = frame.set_index("kind").loc["requests"]
    assert (requests["limit"], requests["spent"], requests["remaining"]) == (60, 12, 47)


def test_a_budget_near_its_limit_is_an_amber_bar() -> None:
    frame = usage_frame(team_usage())
    bar = budget_bar(frame[frame["kind"] == "usd"].iloc[0])
    label, progress, amounts = bar.children
    assert label.value == "team:eng"
    assert progress.bar_style == "warning"  # 85% used
    assert progress.value == pytest.approx(4.25) and progress.max == 5.0
    assert amounts.value == "$4.25 of $5.00, resets 2026-03-03 00:00 UTC"


def test_a_log_alone_has_no_budgets(tmp_path: Path) -> None:
    with pytest.raises(BudgetsUnavailable):
        LogSource(tmp_path).budgets()


GOVERNED = """
[providers.sim]
models = ["gpt-4o-mini"]

[[pricing.overrides]]
provider = "sim"
model = "gpt-4o-mini"
pricing_as = "openai/gpt-4o-mini"

[[governance.teams]]
id = "eng"
budgets = [{ max_usd = 5, reset = "1d" }]

[[governance.virtual_keys]]
id = "notebook"
value = "vk-notebook"
team = "eng"
"""


def test_budgets_of_the_embedded_gateway(clean_session: Path) -> None:
    (clean_session.parent / "govern.toml").write_text(GOVERNED)
    import govern

    govern.client(key="vk-notebook").chat.completions.create(
        model="sim/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=4
    )
    running = session.embedded()
    assert running is not None
    frame = source_for(running).budgets()
    row = frame.set_index("entity").loc["team:eng"]
    assert row["kind"] == "usd" and row["limit"] == Decimal(5)
    assert Decimal(0) < row["spent"] < Decimal("0.001")
