"""Governance in the request path: budgets and limits hold on every tier, over HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

import govern.logs
from govern.server.embedded import EmbeddedServer
from govern.sim.server import Fault, SimUpstreamThread
from tests.conftest import ServeFactory, upstream_config

# sim/m costs $0 per input token and $6,000 per million output tokens ($0.006 a token),
# so a call with max_tokens=10 costs exactly $0.06, and the sim's estimate is exact.
PRICE = {"model": "m", "provider": "sim", "input_per_mtok": "0", "output_per_mtok": "6000"}
KEY = "gk-test-notebook-key"


def governed(**key: Any) -> dict[str, Any]:
    """One customer > team > key hierarchy on the sim provider; `key` overrides the key."""
    return {
        "providers": {"sim": {"models": ["m"]}, "simb": {"kind": "sim", "models": ["m"]}},
        "pricing": {"overrides": [PRICE, {**PRICE, "provider": "simb"}]},
        "governance": {
            "customers": [{"id": "acme"}],
            "teams": [{"id": "eng", "customer": "acme"}],
            "virtual_keys": [{"id": "nb", "value": KEY, "team": "eng", **key}],
        },
    }


def ask(server: EmbeddedServer, key: str = KEY, **body: Any) -> httpx.Response:
    payload = {
        "model": "sim/m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 10,
        **body,
    }
    return httpx.post(
        f"{server.url}/v1/chat/completions",
        json=payload,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def logged(server: EmbeddedServer) -> Any:
    server.stop()
    return govern.logs.requests(server.gateway.data_dir)


async def test_parallel_requests_never_overspend(serve: ServeFactory) -> None:
    config = governed(budgets=[{"max_usd": "1.00", "reset": "1d"}])
    config["providers"]["sim"]["latency_ms"] = 50  # every request is in flight at once
    server = serve(config)
    client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)

    async def one() -> int:
        try:
            await client.chat.completions.create(
                model="sim/m", messages=[{"role": "user", "content": "hi"}], max_tokens=10
            )
        except openai.APIStatusError as exc:
            return exc.status_code
        return 200

    statuses = await asyncio.gather(*(one() for _ in range(64)))
    await client.close()
    # $1.00 / $0.06 = 16.67: 16 calls fit, the 17th would need $1.02
    assert statuses.count(200) == 16
    assert statuses.count(402) == 48
    rows = logged(server)
    assert int(rows["cost_nanos"].sum()) == 960_000_000


@pytest.mark.parametrize(
    ("tier", "where", "entity"),
    [
        ("customer", ("customers", 0), "acme"),
        ("team", ("teams", 0), "eng"),
        ("key", ("virtual_keys", 0), "nb"),
    ],
)
def test_each_tier_blocks_on_its_own_budget(
    serve: ServeFactory, tier: str, where: tuple[str, int], entity: str
) -> None:
    config = governed()
    section, index = where
    config["governance"][section][index]["budgets"] = [{"max_usd": "0.10", "reset": "1d"}]
    server = serve(config)
    assert ask(server).status_code == 200  # $0.06 of $0.10
    denied = ask(server)  # another $0.06 would make $0.12
    assert denied.status_code == 402
    error = denied.json()["error"]
    assert (error["type"], error["code"]) == ("budget_exceeded", f"{tier}_budget_exceeded")
    assert f"{tier} '{entity}' has a $0.1 day budget" in error["message"]
    assert "$0.06 spent" in error["message"] and "resets at" in error["message"]


@pytest.mark.parametrize("section", ["customers", "teams", "virtual_keys"])
def test_each_tier_blocks_on_its_own_rate_limit(serve: ServeFactory, section: str) -> None:
    config = governed()
    config["governance"][section][0]["rate_limits"] = [{"requests": 2, "reset": "1m"}]
    server = serve(config)
    first = ask(server)
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert ask(server).status_code == 200
    limited = ask(server)
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "rate_limited"
    assert "allows 2 requests per minute; 2 used" in limited.json()["error"]["message"]
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_token_rate_limit_counts_input_and_output(serve: ServeFactory) -> None:
    server = serve(governed(rate_limits=[{"tokens": 25, "reset": "1h"}]))
    # "hi" = 1 input token + 10 output = 11 tokens per call: 2 fit in 25, the 3rd does not
    assert ask(server).headers["x-ratelimit-remaining-tokens"] == "14"
    assert ask(server).status_code == 200
    assert ask(server).status_code == 429


def test_provider_config_budget_falls_back_to_another_provider(serve: ServeFactory) -> None:
    server = serve(
        governed(
            providers=[
                {"provider": "sim", "budgets": [{"max_usd": "0.10", "reset": "1d"}]},
                {"provider": "simb"},
            ]
        )
    )
    served = [ask(server, fallbacks=["simb/m"]).headers["x-govern-model"] for _ in range(3)]
    assert served == ["sim/m", "simb/m", "simb/m"]
    # without a fallback, the provider config's own budget answers
    denied = ask(server)
    assert denied.status_code == 402
    assert denied.json()["error"]["code"] == "provider_budget_exceeded"


def test_rejected_requests_use_no_quota(serve: ServeFactory) -> None:
    server = serve(
        governed(
            budgets=[{"max_usd": "0.10", "reset": "1d"}],
            rate_limits=[{"requests": 100, "reset": "1h"}],
        )
    )
    assert ask(server).status_code == 200
    for _ in range(3):
        assert ask(server).status_code == 402
    # a cheaper call still fits: the 402s reserved nothing ($0.06 + $0.03 <= $0.10)
    cheap = ask(server, max_tokens=5)
    assert cheap.status_code == 200
    assert cheap.headers["x-ratelimit-remaining-requests"] == "98"


def test_keys_are_checked_before_any_upstream_call(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    config = upstream_config(sim_upstream)
    config["governance"] = {
        "virtual_keys": [
            {"id": "nb", "value": KEY, "models": ["sim/*", "openai/gpt-4o-mini"]},
            {"id": "old", "value": "gk-old", "active": False},
            {
                "id": "gone",
                "value": "gk-gone",
                "expires_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            },
        ]
    }
    server = serve(config)
    assert ask(server, key="gk-unknown", model="sim/gpt-4o-mini").status_code == 401
    assert httpx.post(f"{server.url}/v1/chat/completions", json={}).status_code == 401
    assert ask(server, key="gk-old", model="sim/gpt-4o-mini").json()["error"]["code"] == (
        "key_inactive"
    )
    assert ask(server, key="gk-gone", model="sim/gpt-4o-mini").json()["error"]["code"] == (
        "key_expired"
    )
    denied = ask(server, model="openai/gpt-4o")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "model_not_allowed"
    assert not sim_upstream.sim.requests  # nothing reached the upstream
    models = httpx.get(f"{server.url}/v1/models", headers={"x-govern-key": KEY}).json()
    # the listed models (the config's `models` lists) that the key's allow list admits
    assert [m["id"] for m in models["data"]] == ["sim/gpt-4o-mini"]


def test_disallowed_fallback_is_named(serve: ServeFactory) -> None:
    server = serve(governed(models=["sim/*"]))
    response = ask(server, fallbacks=["simb/m"])
    assert response.status_code == 403
    assert response.json()["error"]["param"] == "fallbacks[0]"


def test_restart_keeps_spend(serve: ServeFactory, tmp_path: Any) -> None:
    config = governed(budgets=[{"max_usd": "0.20", "reset": "1M"}])
    first = serve(config)
    assert [ask(first).status_code for _ in range(3)] == [200, 200, 200]  # $0.18
    first.stop()
    second = serve(config)  # same data directory: counters rebuilt from the request log
    assert ask(second).status_code == 402
    assert ask(second, max_tokens=3).status_code == 200  # $0.18 + $0.018 <= $0.20


def test_disconnect_mid_stream_charges_the_output_so_far(serve: ServeFactory) -> None:
    config = governed(budgets=[{"max_usd": "10", "reset": "1d"}])
    config["providers"]["sim"]["chunk_interval_ms"] = 30
    server = serve(config)
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={
            "model": "sim/m",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 200,
            "stream": True,
        },
        headers={"Authorization": f"Bearer {KEY}"},
    ) as response:
        lines = response.iter_lines()
        words = 0
        for line in lines:
            if '"content":"' in line and '"content":""' not in line:
                words += 1
            if words == 3:
                break
    rows = logged(server)
    row = rows.iloc[0]
    assert (row["status"], row["error_type"]) == (499, "client_disconnected")
    # input 1 token ($0) + the words sent before the gateway saw the disconnect ($0.006 each)
    assert row["output_tokens"] >= 3
    assert row["cost_nanos"] == row["output_tokens"] * 6_000_000
    assert row["output_tokens"] < 200


def test_concurrency_cap_releases_on_timeout(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    config = upstream_config(sim_upstream, openai={"timeout": 0.3, "max_retries": 0})
    config["governance"] = {"virtual_keys": [{"id": "nb", "value": KEY, "max_concurrent": 1}]}
    server = serve(config)
    sim_upstream.sim.add_fault(Fault(hang=True, times=1))
    assert ask(server, model="openai/gpt-4o-mini").status_code == 504
    assert ask(server, model="openai/gpt-4o-mini").status_code == 200


async def test_concurrency_cap_holds_and_releases_on_cancel(serve: ServeFactory) -> None:
    config = governed(max_concurrent=1)
    config["providers"]["sim"]["latency_ms"] = 300
    server = serve(config)
    async with httpx.AsyncClient(timeout=30) as client:
        body = {"model": "sim/m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
        headers = {"Authorization": f"Bearer {KEY}"}
        slow = asyncio.create_task(
            client.post(f"{server.url}/v1/chat/completions", json=body, headers=headers)
        )
        await asyncio.sleep(0.1)
        busy = await client.post(f"{server.url}/v1/chat/completions", json=body, headers=headers)
        assert busy.status_code == 429
        assert busy.json()["error"]["code"] == "key_concurrency_limited"
        slow.cancel()  # the client goes away mid-call
        with pytest.raises(asyncio.CancelledError):
            await slow
    for _ in range(200):  # the call ends (or the server notices the disconnect): slot freed
        if ask(server, max_tokens=1).status_code == 200:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the concurrency slot was never released")


def test_refused_keys_are_logged(serve: ServeFactory) -> None:
    server = serve(governed())
    assert ask(server, key="gk-nobody").status_code == 401
    rows = logged(server)
    assert rows[["attempt", "status", "error_type"]].values.tolist() == [
        [0, 401, "authentication_error"]
    ]
