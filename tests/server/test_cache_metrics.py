"""Cache hits in `/metrics` and in spend (`GET /api/spend`, `govern.logs.spend`): the hit
count and ratio, and what the hits saved."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

import govern.logs
from govern.notebook.session import Remote
from govern.notebook.sources import RemoteSource
from govern.server.embedded import EmbeddedServer
from tests.conftest import ServeFactory

ADMIN = "admin-for-cache-metrics"
CONFIG: dict[str, Any] = {
    "providers": {"sim": {"models": ["gpt-4o-mini"]}},
    "pricing": {"overrides": [{"model": "sim/gpt-4o-mini", "pricing_as": "openai/gpt-4o-mini"}]},
    "cache": {"mode": "exact"},
    "governance": {"admin_key": ADMIN},
    "log": {"durability": "strict"},  # rows are committed before each response
}
SAVED_NANOS = 3_750
"""One call: 5 input tokens (the sim counts words) x 150 + 5 output tokens x 600 nanos."""


def ask(server: EmbeddedServer) -> httpx.Response:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={
            "model": "sim/gpt-4o-mini",
            "messages": [{"role": "user", "content": "what does the gateway do"}],
            "max_tokens": 5,
        },
        timeout=30,
    )
    response.raise_for_status()
    return response


def samples(server: EmbeddedServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of `/metrics` by name and sorted labels."""
    text = httpx.get(f"{server.url}/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


LABELS = (("model", "gpt-4o-mini"), ("provider", "sim"))
HITS = ("govern_cache_hits_total", tuple(sorted((*LABELS, ("layer", "exact")))))
SAVED = ("govern_cache_saved_usd_total", LABELS)


def test_a_hit_moves_the_hit_and_savings_counters(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    assert ask(server).headers["x-govern-cache"] == "miss"
    before = samples(server)
    assert before.get(HITS, 0.0) == 0.0 and before.get(SAVED, 0.0) == 0.0
    assert ask(server).headers["x-govern-cache"] == "exact"
    after = samples(server)
    assert after[HITS] == 1.0
    assert after[SAVED] == SAVED_NANOS / 1e9


def test_a_hit_is_no_spend_in_the_cost_counter(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    ask(server)
    cost = ("govern_cost_usd_total", LABELS)
    spent = samples(server)[cost]
    ask(server)
    assert samples(server)[cost] == spent == SAVED_NANOS / 1e9


def test_spend_shows_the_hit_ratio_and_exact_savings(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    for _ in range(4):
        ask(server)  # a miss, then three hits
    page = httpx.get(
        f"{server.url}/api/spend", headers={"x-govern-admin-key": ADMIN}, params={"group_by": ""}
    ).json()
    [total] = page["items"]
    assert (total["requests"], total["cache_hits"], total["hit_ratio"]) == (4, 3, 0.75)
    assert total["saved_nanos"] == 3 * SAVED_NANOS
    assert Decimal(total["saved_usd"]) == Decimal("0.00001125")  # exact, as a string
    assert total["cost_nanos"] == SAVED_NANOS  # only the miss was paid for


def test_remote_and_local_spend_frames_agree(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    ask(server)
    ask(server)
    remote = RemoteSource(Remote(server.url, admin_key=ADMIN)).spend(["cache"])
    local = govern.logs.spend(server.gateway.data_dir, ["cache"])
    assert list(remote.columns) == list(local.columns)
    hit = remote.set_index("cache").loc["exact"]
    assert (hit["cache_hits"], hit["hit_ratio"], hit["saved_usd"]) == (1, 1.0, 3.75e-06)
