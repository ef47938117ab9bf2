"""Spend shows the gateway cache: hits, hit ratio and what they saved, exactly."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from govern.logs import LogStore, spend, spend_page
from tests.logs.records import record


def hit(n: int, layer: str = "exact", saved: int | None = 270_000, **fields: object) -> object:
    """A request answered from the cache: it cost 0 and saved `saved` nano-dollars."""
    return record(
        n,
        cache=layer,
        saved_nanos=saved,
        cost_nanos=0,
        cost_input_nanos=None,
        cost_output_nanos=None,
        input_tokens=0,
        output_tokens=0,
        price_source="cache",
        **fields,
    )


def seed(store: LogStore) -> None:
    # openai: 2 misses (270,000 nanos each), 1 exact hit and 1 semantic hit saving
    # 270,000 and 2**53 + 1 nanos (exact past float precision); anthropic: 1 miss.
    store.insert(
        [
            record(0),
            record(1),
            hit(2),
            hit(3, layer="semantic", saved=2**53 + 1),
            record(4, provider="anthropic", model_served="claude"),
        ]
    )


def test_spend_counts_hits_and_their_share_of_requests(store: LogStore) -> None:
    seed(store)
    frame = spend(store, "provider").set_index("provider")
    assert frame.loc["openai", "cache_hits"] == 2
    assert frame.loc["openai", "hit_ratio"] == 0.5  # 2 hits of 4 requests
    assert frame.loc["anthropic", "cache_hits"] == 0
    assert frame.loc["anthropic", "hit_ratio"] == 0.0


def test_spend_sums_savings_exactly_with_a_float_view(store: LogStore) -> None:
    seed(store)
    frame = spend(store, "provider").set_index("provider")
    assert int(frame.loc["openai", "saved_nanos"]) == 270_000 + 2**53 + 1
    assert frame.loc["openai", "saved_usd"] == (270_000 + 2**53 + 1) / 1e9
    assert pd.isna(frame.loc["anthropic", "saved_nanos"])  # nothing saved, not $0
    assert pd.isna(frame.loc["anthropic", "saved_usd"])
    columns = list(frame.columns)
    assert columns[-4:] == ["saved_nanos", "saved_usd", "cache_hits", "hit_ratio"]


def test_spend_by_cache_layer(store: LogStore) -> None:
    seed(store)
    frame = spend(store, "cache").set_index("cache")
    assert frame.loc["miss", "cache_hits"] == 0
    assert frame.loc["exact", "cache_hits"] == frame.loc["exact", "requests"] == 1
    assert frame.loc["semantic", "hit_ratio"] == 1.0
    assert int(frame.loc["exact", "cost_nanos"]) == 0


async def test_spend_pages_carry_hits_and_exact_savings(store: LogStore) -> None:
    seed(store)
    page = await spend_page(store, group_by="provider")
    by_provider = {row.group["provider"]: row for row in page.items}
    openai = by_provider["openai"]
    assert (openai.cache_hits, openai.hit_ratio) == (2, 0.5)
    assert openai.saved_nanos == 270_000 + 2**53 + 1
    assert openai.saved_usd == Decimal("9007199.254740993") + Decimal("0.00027")
    anthropic = by_provider["anthropic"]
    assert (anthropic.cache_hits, anthropic.saved_usd) == (0, None)
