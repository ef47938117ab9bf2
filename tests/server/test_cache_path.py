"""The cache in the request path: hits cost nothing, never cross tenants, survive restarts."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

import govern.logs
from govern.replay import load_trace, replay
from govern.server.embedded import EmbeddedServer
from govern.sim.server import Fault, SimUpstreamThread
from tests.conftest import CONV_TRACE, ServeFactory, upstream_config

ADMIN = "admin-for-cache-tests"


def cached(mode: str = "exact", **extra: Any) -> dict[str, Any]:
    return {
        "providers": {"sim": {"models": ["gpt-4o-mini"]}},
        "pricing": {
            "overrides": [{"model": "sim/gpt-4o-mini", "pricing_as": "openai/gpt-4o-mini"}]
        },
        "cache": {"mode": mode},
        "governance": {
            "admin_key": ADMIN,
            "virtual_keys": [{"id": "a", "value": "gk-a"}, {"id": "b", "value": "gk-b"}],
        },
        **extra,
    }


def ask(
    server: EmbeddedServer, key: str = "gk-a", headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    payload = {
        "model": "sim/gpt-4o-mini",
        "messages": [{"role": "user", "content": "what does the gateway do"}],
        "max_tokens": 5,
        **body,
    }
    return httpx.post(
        f"{server.url}/v1/chat/completions",
        json=payload,
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
        timeout=30,
    )


def test_second_identical_request_is_an_exact_hit_that_costs_nothing(serve: ServeFactory) -> None:
    server = serve(cached())
    first, second = ask(server), ask(server)
    assert first.headers["x-govern-cache"] == "miss"
    assert second.headers["x-govern-cache"] == "exact"
    assert second.headers["x-govern-cost-usd"] == "0"
    assert second.json()["choices"] == first.json()["choices"]
    # fields that do not change the answer do not change the key
    assert ask(server, user="someone-else").headers["x-govern-cache"] == "exact"
    assert ask(server, temperature=0.5).headers["x-govern-cache"] == "miss"


def test_two_keys_never_share_an_entry(serve: ServeFactory) -> None:
    server = serve(cached())
    assert ask(server, key="gk-a").headers["x-govern-cache"] == "miss"
    assert ask(server, key="gk-b").headers["x-govern-cache"] == "miss"
    assert ask(server, key="gk-b").headers["x-govern-cache"] == "exact"


def test_per_request_header_turns_the_cache_on_and_off(serve: ServeFactory) -> None:
    server = serve(cached(mode="off"))
    on = {"x-govern-cache": "exact"}
    assert ask(server, headers=on).headers["x-govern-cache"] == "miss"
    assert ask(server, headers=on).headers["x-govern-cache"] == "exact"
    assert ask(server).headers["x-govern-cache"] == "miss"  # off by default
    assert ask(server, headers={"x-govern-cache": "off"}).headers["x-govern-cache"] == "miss"
    bad = ask(server, headers={"x-govern-cache-ttl": "soon"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "x-govern-cache-ttl"


def test_no_store_is_honoured(serve: ServeFactory) -> None:
    server = serve(cached())
    ask(server, headers={"x-govern-cache-no-store": "true"})
    assert ask(server).headers["x-govern-cache"] == "miss"


def test_streams_are_stored_and_replayed_both_ways(serve: ServeFactory) -> None:
    server = serve(cached())
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="gk-a", max_retries=0)
    messages = [{"role": "user", "content": "stream me"}]
    streamed = list(
        client.chat.completions.create(
            model="sim/gpt-4o-mini",
            messages=messages,
            max_tokens=4,
            stream=True,  # type: ignore[arg-type]
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    # a non-streaming request is answered from the stored stream
    raw = client.chat.completions.with_raw_response.create(
        model="sim/gpt-4o-mini",
        messages=messages,
        max_tokens=4,  # type: ignore[arg-type]
    )
    assert raw.headers["x-govern-cache"] == "exact"
    assert raw.parse().choices[0].message.content == text
    # and a streaming one is replayed as SSE, usage chunk included
    replayed = list(
        client.chat.completions.create(
            model="sim/gpt-4o-mini",
            messages=messages,
            max_tokens=4,
            stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in replayed if c.choices) == text
    assert replayed[-1].usage is not None and replayed[-1].usage.completion_tokens == 4
    assert replayed[-1].usage.model_extra == {"cost_usd": "0"}


def test_a_cut_off_stream_is_never_stored(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    config = upstream_config(sim_upstream)
    config["cache"] = {"mode": "exact"}
    server = serve(config)
    sim_upstream.sim.add_fault(Fault(cut_after=3, times=1))
    body = {
        "model": "openai/gpt-4o-mini",
        "stream": True,
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hello"}],
    }
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body) as response:
        assert "error" in response.read().decode()
    again = ask(
        server,
        key="x",
        model="openai/gpt-4o-mini",
        max_tokens=20,
        messages=[{"role": "user", "content": "hello"}],
    )
    assert again.headers["x-govern-cache"] == "miss"
    assert len(sim_upstream.sim.requests) == 2


def test_entries_survive_a_restart(serve: ServeFactory) -> None:
    config = cached()
    first = serve(config)
    ask(first)
    first.stop()
    second = serve(config)  # same data directory
    assert ask(second).headers["x-govern-cache"] == "exact"


def test_hits_count_toward_request_limits_but_not_budgets(serve: ServeFactory) -> None:
    config = cached()
    config["governance"]["virtual_keys"][0].update(
        budgets=[{"max_usd": "0.000006", "reset": "1d"}],  # one call: 4 * 0.15 + 5 * 0.6 micro$
        rate_limits=[{"requests": 3, "reset": "1h"}],
    )
    server = serve(config)
    assert ask(server).status_code == 200  # $0.0000036 of $0.000006
    hit = ask(server)  # would exceed the budget if it were charged
    assert hit.headers["x-govern-cache"] == "exact"
    assert hit.headers["x-ratelimit-remaining-requests"] == "1"
    assert ask(server).status_code == 200
    assert ask(server).status_code == 429  # the 4th request, hit or not


def test_cache_admin_api(serve: ServeFactory) -> None:
    server = serve(cached())
    ask(server, key="gk-a")
    ask(server, key="gk-b")
    admin = {"x-govern-admin-key": ADMIN}
    stats = httpx.get(f"{server.url}/api/cache", headers=admin).json()
    assert stats["entries"] == 2
    cleared = httpx.delete(f"{server.url}/api/cache", params={"scope": "key:a"}, headers=admin)
    assert cleared.json() == {"removed": 1}
    assert ask(server, key="gk-a").headers["x-govern-cache"] == "miss"
    assert ask(server, key="gk-b").headers["x-govern-cache"] == "exact"
    assert httpx.delete(f"{server.url}/api/cache").status_code == 401


@pytest.mark.slow
async def test_replaying_500_rows_twice_saves_exactly_the_first_pass(serve: ServeFactory) -> None:
    server = serve(cached())
    rows = load_trace(CONV_TRACE, limit=500)
    for _ in range(2):
        summary = await replay(
            rows,
            model="sim/gpt-4o-mini",
            base_url=f"{server.url}/v1",
            key="gk-a",
            rate=0,
            concurrency=1,
            progress=False,
        )
        assert not summary.errors
    server.stop()
    logged = govern.logs.requests(server.gateway.data_dir)
    first, second = logged.iloc[:500], logged.iloc[500:]
    assert (first["cache"] == "miss").all()
    assert (second["cache"] == "exact").all()
    assert int(second["cost_nanos"].sum()) == 0
    assert int(second["saved_nanos"].sum()) == int(first["cost_nanos"].sum()) > 0


@pytest.mark.slow
def test_semantic_hit_through_the_gateway(serve: ServeFactory) -> None:
    server = serve(cached(mode="semantic"))
    ask(server, messages=[{"role": "user", "content": "How do I reset my password?"}])
    hit = ask(server, messages=[{"role": "user", "content": "How can I reset my password?"}])
    assert hit.headers["x-govern-cache"] == "semantic"
    assert float(hit.headers["x-govern-cache-similarity"]) >= 0.92
    near = ask(server, messages=[{"role": "user", "content": "How do I reset my username?"}])
    assert near.headers["x-govern-cache"] == "miss"


def test_cache_settings_per_key(serve: ServeFactory) -> None:
    config = cached(mode="off")
    config["governance"]["virtual_keys"][1]["cache"] = {"mode": "exact"}
    server = serve(config)
    for _ in range(2):  # key a: the gateway's default, off
        assert ask(server, key="gk-a").headers["x-govern-cache"] == "miss"
    assert ask(server, key="gk-b").headers["x-govern-cache"] == "miss"
    assert ask(server, key="gk-b").headers["x-govern-cache"] == "exact"


def test_team_cache_settings_are_inherited_and_validated(serve: ServeFactory) -> None:
    config = cached(mode="off")
    config["governance"]["teams"] = [{"id": "eng", "cache": {"mode": "exact"}}]
    config["governance"]["virtual_keys"][0]["team"] = "eng"
    server = serve(config)
    ask(server, key="gk-a")
    assert ask(server, key="gk-a").headers["x-govern-cache"] == "exact"
    from govern.config import ConfigError, config_from_dict

    config["governance"]["teams"][0]["cache"] = {"threshold": 2}
    with pytest.raises(ConfigError, match=r"governance.teams\[0\].cache.threshold"):
        config_from_dict(config)
