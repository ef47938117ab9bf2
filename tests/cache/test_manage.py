"""`govern.cache.stats()` and `govern.cache.clear()`: on the embedded gateway of this
process, or on a remote one chosen with `govern.connect`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import govern
import govern.cache
from govern.config import config_from_dict
from govern.notebook import session
from tests.conftest import ServeFactory

ADMIN = "admin-for-cache-management"
CONFIG: dict[str, Any] = {
    "providers": {"sim": {"models": ["gpt-4o-mini"]}},
    "pricing": {"overrides": [{"model": "sim/gpt-4o-mini", "pricing_as": "openai/gpt-4o-mini"}]},
    "cache": {"mode": "exact"},
    "governance": {
        "admin_key": ADMIN,
        "virtual_keys": [{"id": "a", "value": "gk-a"}, {"id": "b", "value": "gk-b"}],
    },
}


@pytest.fixture(autouse=True)
def no_gateway() -> Iterator[None]:
    """No embedded or remote gateway before or after each test."""
    session.stop()
    session.disconnect()
    yield
    session.stop()
    session.disconnect()


def ask(url: str, key: str | None = None) -> str:
    """The same question again; returns `x-govern-cache`."""
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={
            "model": "sim/gpt-4o-mini",
            "messages": [{"role": "user", "content": "what is a p-value"}],
            "max_tokens": 5,
        },
        headers={"Authorization": f"Bearer {key}"} if key else {},
        timeout=30,
    )
    response.raise_for_status()
    return response.headers["x-govern-cache"]


def test_without_a_gateway_the_error_says_how_to_get_one() -> None:
    with pytest.raises(govern.cache.CacheUnavailable, match=r"govern\.connect\(url, admin_key"):
        govern.cache.stats()


def test_stats_and_clear_act_on_the_embedded_gateway(tmp_path: Path) -> None:
    config = config_from_dict({**CONFIG, "governance": {}})  # no keys: one anonymous scope
    running = session.start(config, data_dir=tmp_path)
    assert [ask(running.url) for _ in range(2)] == ["miss", "exact"]
    stats = govern.cache.stats()
    assert (stats.entries, stats.exact_hits, stats.misses, stats.stores) == (1, 1, 1, 1)
    assert stats.saved_nanos == 3_600  # 4 input x 150 + 5 output x 600 nano-dollars
    assert govern.cache.clear() == 1
    assert govern.cache.stats().entries == 0
    assert ask(running.url) == "miss"


def test_a_scope_on_a_remote_gateway(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    for key in ("gk-a", "gk-a", "gk-b"):
        ask(server.url, key)
    govern.connect(server.url, admin_key=ADMIN)
    a = govern.cache.stats("key:a")
    assert (a.entries, a.exact_hits, a.misses) == (1, 1, 1)
    assert govern.cache.clear("key:a") == 1
    assert govern.cache.stats("key:a").entries == 0
    assert govern.cache.stats("key:b").entries == 1
    assert ask(server.url, "gk-b") == "exact"


def test_the_remote_gateway_wins_over_the_embedded_one(serve: ServeFactory, tmp_path: Path) -> None:
    # as with govern.client(): once connected, the remote gateway is the one in use
    session.start(config_from_dict(CONFIG), data_dir=tmp_path / "embedded")
    server = serve(CONFIG)
    ask(server.url, "gk-a")
    govern.connect(server.url, admin_key=ADMIN)
    assert govern.cache.stats().entries == 1
    session.disconnect()
    assert govern.cache.stats().entries == 0


def test_a_remote_gateway_needs_its_admin_key(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    govern.connect(server.url)
    with pytest.raises(govern.cache.CacheUnavailable, match="needs its admin key"):
        govern.cache.clear()


def test_a_wrong_admin_key_is_reported_with_the_gateways_message(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    govern.connect(server.url, admin_key="not-the-key")
    with pytest.raises(govern.cache.CacheUnavailable, match="HTTP 403: wrong admin key"):
        govern.cache.stats()


def test_an_unreachable_gateway_is_reported(serve: ServeFactory) -> None:
    server = serve(CONFIG)
    url = server.url
    server.stop()
    govern.connect(url, admin_key=ADMIN)
    with pytest.raises(govern.cache.CacheUnavailable, match="cannot reach"):
        govern.cache.stats(timeout=5)
