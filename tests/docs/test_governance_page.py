"""docs/governance.md names every error the governance code can answer with, and its
examples of rejection messages are the gate's own wording."""

from __future__ import annotations

import re

import pytest

from govern.governance.gate import rejection
from govern.governance.ledger import TIERS, Denied, Limit
from tests.conftest import ROOT

PAGE = (ROOT / "docs" / "governance.md").read_text()
# 2025-06-02T00:00:00Z, the reset time the page's examples show
RESET = 1_748_822_400.0


def refused(tier: str, kind: str, amount: int = 10, used: int = 10) -> Denied:
    """A refusal of one limit, as the ledger answers it."""
    limit = Limit(id="x", tier=tier, entity_id="e", kind=kind, amount=amount, period="1d")  # type: ignore[arg-type]
    return Denied(limit=limit, spent=used, reserved=0, asked=1, reset_at=RESET)


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("kind", ["usd", "requests", "tokens"])
def test_every_budget_and_rate_limit_code_is_listed(tier: str, kind: str) -> None:
    error = rejection(refused(tier, kind), RESET - 60)
    assert f"`{error.code}`" in PAGE
    assert f"`{error.type}`" in PAGE


def test_the_concurrency_code_is_listed() -> None:
    error = rejection(refused("key", "concurrent", amount=4, used=4), RESET - 60)
    assert "`key_concurrency_limited`" in PAGE
    assert error.code == "key_concurrency_limited"


def test_the_example_messages_are_the_gates_wording() -> None:
    examples = re.search(r"```text\n(.*?)```", PAGE, re.DOTALL)
    assert examples is not None
    shown = examples[1].splitlines()
    budget = Limit(
        id="key:intern:budget:1d",
        tier="key",
        entity_id="intern",
        kind="usd",
        amount=10_000_000,
        period="1d",
    )
    rate = Limit(
        id="key:notebook:rate:1m:requests",
        tier="key",
        entity_id="notebook",
        kind="requests",
        amount=60,
        period="1m",
    )
    concurrent = Limit(
        id="key:notebook:concurrent", tier="key", entity_id="notebook", kind="concurrent", amount=4
    )
    assert (
        rejection(
            Denied(limit=budget, spent=9_030_000, reserved=0, asked=3_010_000, reset_at=RESET), 0
        ).message
        == shown[0]
    )
    assert (
        rejection(
            Denied(limit=rate, spent=60, reserved=0, asked=1, reset_at=1_748_789_880.0), 0
        ).message
        == shown[1]
    )
    assert (
        rejection(Denied(limit=concurrent, spent=0, reserved=4, asked=1, reset_at=None), 0).message
        == shown[2]
    )
