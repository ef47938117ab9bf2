"""JSON pages for the HTTP routes: cursors that neither skip nor repeat, exact dollars."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import msgspec
import pytest

from govern.logs import LogQueryError, LogStore, log_page, spend_page
from tests.logs.records import T0, record


async def test_log_pages_walk_every_row_newest_first_once(store: LogStore) -> None:
    # Equal timestamps across page boundaries are where naive cursors skip or repeat.
    store.insert([record(i // 3, request_id=f"req_{i:02d}") for i in range(11)])
    seen: list[str] = []
    cursor = None
    while True:
        page = await log_page(store, limit=2, cursor=cursor)
        seen += [item.request_id for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(f"req_{i:02d}" for i in range(11))
    assert len(seen) == 11
    times = [i // 3 for i in range(11)]
    assert seen[0] in {f"req_{i:02d}" for i in range(11) if times[i] == max(times)}


async def test_the_last_page_has_no_cursor(store: LogStore) -> None:
    store.insert([record(0), record(1)])
    page = await log_page(store, limit=2)
    assert len(page.items) == 2
    assert page.next_cursor is None


async def test_log_pages_filter_by_time_and_column(store: LogStore) -> None:
    store.insert([record(0), record(60, provider="anthropic"), record(120)])
    page = await log_page(store, since=T0 + timedelta(seconds=30), filters={"provider": "openai"})
    assert [i.request_id for i in page.items] == ["req_000120"]


async def test_a_page_encodes_as_json(store: LogStore) -> None:
    store.insert([record(0, cost_nanos=123)])
    body = msgspec.json.decode(msgspec.json.encode(await log_page(store)))
    item = body["items"][0]
    assert item["ts"] == "2026-03-01T12:00:00Z"
    assert item["cost_nanos"] == 123
    assert item["id"] >= 1
    assert body["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["garbage!", "WzFd", ""])
async def test_a_foreign_cursor_is_a_400(store: LogStore, cursor: str) -> None:
    with pytest.raises(LogQueryError) as info:
        await log_page(store, cursor=cursor)
    assert info.value.status == 400 and info.value.param == "cursor"


@pytest.mark.parametrize("limit", [0, 1001])
async def test_limit_is_bounded(store: LogStore, limit: int) -> None:
    with pytest.raises(LogQueryError, match="limit"):
        await log_page(store, limit=limit)


async def test_spend_pages_carry_exact_dollars(store: LogStore) -> None:
    store.insert(
        [
            record(0, cost_nanos=2**53 + 1),
            record(1, cost_nanos=2**53 + 1),
            record(2, provider="groq", unpriced=True, cost_nanos=None),
        ]
    )
    page = await spend_page(store, group_by="provider,model_served", freq="1D")
    assert [row.group for row in page.items] == [
        {"provider": "groq", "model_served": "gpt-4o-mini"},
        {"provider": "openai", "model_served": "gpt-4o-mini"},
    ]
    groq, openai = page.items
    assert openai.cost_nanos == 2**54 + 2
    assert openai.cost_usd == Decimal("18014398.509481986")
    assert openai.period == T0.replace(hour=0)
    assert groq.cost_usd is None and groq.unpriced_count == 1
    body = msgspec.json.decode(msgspec.json.encode(page))
    assert body["items"][1]["cost_usd"] == "18014398.509481986"  # a string: no float rounding
    assert body["group_by"] == ["provider", "model_served"]


async def test_spend_pages_continue_with_the_cursor(store: LogStore) -> None:
    store.insert([record(i, customer_id=f"c{i}") for i in range(5)])
    first = await spend_page(store, group_by=["customer_id"], limit=3)
    assert first.next_cursor is not None
    second = await spend_page(store, group_by=["customer_id"], limit=3, cursor=first.next_cursor)
    assert second.next_cursor is None
    groups = [r.group["customer_id"] for r in first.items + second.items]
    assert groups == ["c0", "c1", "c2", "c3", "c4"]
