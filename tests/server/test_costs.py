"""Every call priced and logged: cost headers, stream costs, unpriced policy, the log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import openai
import pandas as pd
import pytest

import govern.logs
from govern.replay import load_trace, replay
from govern.server.embedded import EmbeddedServer
from govern.sim.server import Fault, SimUpstreamThread
from tests.conftest import CONV_TRACE, ServeFactory, upstream_config

PRICED_SIM = {
    "providers": {"sim": {"models": ["gpt-4o-mini", "mystery"]}},
    "pricing": {"overrides": [{"model": "sim/gpt-4o-mini", "pricing_as": "openai/gpt-4o-mini"}]},
}
# openai/gpt-4o-mini in the bundled catalog: $0.15 per M input, $0.60 per M output,
# i.e. 150 and 600 nano-dollars per token.


def ask(url: str, **body: Any) -> httpx.Response:
    payload = {"messages": [{"role": "user", "content": "one two three"}], **body}
    return httpx.post(f"{url}/v1/chat/completions", json=payload, timeout=30)


def rows(server: EmbeddedServer) -> pd.DataFrame:
    server.stop()  # flushes the request log
    return govern.logs.requests(server.gateway.data_dir)


def test_cost_header_is_exact(serve: ServeFactory) -> None:
    server = serve(PRICED_SIM)
    response = ask(server.url, model="sim/gpt-4o-mini", max_tokens=10)
    # 3 input tokens * $0.15/M + 10 output * $0.60/M = 0.00000045 + 0.000006 = 0.00000645
    assert response.headers["x-govern-cost-usd"] == "0.00000645"
    assert float(response.headers["x-govern-overhead-ms"]) >= 0
    logged = rows(server)
    assert logged["cost_nanos"].tolist() == [6450]
    assert logged["price_source"].tolist() == ["alias:openai/gpt-4o-mini"]


def test_stream_cost_in_usage_chunk_and_comment(serve: ServeFactory) -> None:
    server = serve(PRICED_SIM)
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={
            "model": "sim/gpt-4o-mini",
            "messages": [{"role": "user", "content": "one two three"}],
            "max_tokens": 10,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ) as response:
        body = response.read().decode()
    assert ": x-govern-cost-usd: 0.00000645\n\n" in body
    assert '"cost_usd":"0.00000645"' in body
    assert body.endswith("data: [DONE]\n\n")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="sim/gpt-4o-mini",
            messages=[{"role": "user", "content": "a"}],
            max_tokens=1,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    # 1 * 150 + 1 * 600 nano-dollars
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.model_extra == {"cost_usd": "0.00000075"}


def test_unpriced_model_is_flagged_never_zero(serve: ServeFactory) -> None:
    server = serve(PRICED_SIM)
    response = ask(server.url, model="sim/mystery", max_tokens=2)
    assert response.status_code == 200
    assert response.headers["x-govern-unpriced"] == "true"
    assert "x-govern-cost-usd" not in response.headers
    logged = rows(server)
    assert logged["unpriced"].tolist() == [True]
    assert logged["cost_nanos"].isna().all()


def test_unpriced_reject_policy_refuses_before_the_call(serve: ServeFactory) -> None:
    server = serve({**PRICED_SIM, "pricing": {"unpriced": "reject"}})
    response = ask(server.url, model="sim/mystery", max_tokens=2)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "model_unpriced"
    logged = rows(server)
    assert logged[["attempt", "status", "error_type"]].values.tolist() == [
        [0, 403, "permission_error"]
    ]


def test_unpriced_charge_policy_bills_the_default(serve: ServeFactory) -> None:
    server = serve(
        {
            **PRICED_SIM,
            "pricing": {"unpriced": {"charge": {"input_per_mtok": "1", "output_per_mtok": "2"}}},
        }
    )
    response = ask(server.url, model="sim/mystery", max_tokens=2)
    # 3 * $1/M + 2 * $2/M = 0.000003 + 0.000004
    assert response.headers["x-govern-cost-usd"] == "0.000007"
    logged = rows(server)
    assert logged["unpriced"].tolist() == [True]
    assert logged["cost_nanos"].tolist() == [7000]


def test_every_attempt_is_a_row(serve: ServeFactory, sim_upstream: SimUpstreamThread) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(status=503, protocol="openai"))
    response = ask(
        server.url,
        model="openai/gpt-4o-mini",
        max_tokens=2,
        fallbacks=["anthropic/claude-sonnet-4-5"],
    )
    assert response.status_code == 200
    request_id = response.headers["x-govern-request-id"]
    logged = rows(server)
    assert logged["request_id"].unique().tolist() == [request_id]
    assert logged[["attempt", "provider", "status", "fallback_index"]].values.tolist() == [
        [1, "openai", 502, 0],
        [2, "openai", 502, 0],
        [3, "anthropic", 200, 1],
    ]
    # claude-sonnet-4-5: $3/M input, $15/M output: 3 * 3000 + 2 * 15000 nano-dollars
    assert logged["cost_nanos"].tolist()[2] == 39000
    assert logged["cost_nanos"].isna().tolist()[:2] == [True, True]


def test_unknown_model_is_logged_as_rejected(serve: ServeFactory) -> None:
    server = serve(PRICED_SIM)
    assert ask(server.url, model="nowhere/x").status_code == 404
    logged = rows(server)
    assert logged[["attempt", "status", "model_requested"]].values.tolist() == [
        [0, 404, "nowhere/x"]
    ]


def test_metrics_count_requests_tokens_and_cost(serve: ServeFactory) -> None:
    server = serve(PRICED_SIM)
    ask(server.url, model="sim/gpt-4o-mini", max_tokens=10)
    text = httpx.get(f"{server.url}/metrics").text
    assert 'govern_requests_total{model="gpt-4o-mini",provider="sim",status="200"} 1.0' in text
    assert 'govern_tokens_total{direction="output",model="gpt-4o-mini",provider="sim"} 10.0' in text
    assert 'govern_cost_usd_total{model="gpt-4o-mini",provider="sim"} 6.45e-06' in text
    assert "govern_overhead_seconds_bucket" in text


@pytest.mark.slow
async def test_replayed_trace_costs_exactly_the_trace_at_catalog_prices(
    serve: ServeFactory,
) -> None:
    server = serve(PRICED_SIM)
    summary = await replay(
        load_trace(CONV_TRACE, limit=2000),
        model="sim/gpt-4o-mini",
        base_url=f"{server.url}/v1",
        rate=0,
        progress=False,
    )
    assert not summary.errors
    server.stop()
    spend = govern.logs.spend(server.gateway.data_dir)
    trace = pd.read_csv(CONV_TRACE).head(2000)
    from govern.catalog import lookup

    price = lookup("openai/gpt-4o-mini").price  # type: ignore[union-attr]
    expected = (
        Decimal(int(trace["ContextTokens"].sum())) * price.input
        + Decimal(int(trace["GeneratedTokens"].sum())) * price.output
    ) / 1_000_000
    # 2,209,565 * 0.15 + 529,807 * 0.60 = 331,434.75 + 317,884.2 = 649,318.95 -> $0.64931895
    assert expected == Decimal("0.64931895")
    assert int(spend["cost_nanos"].iloc[0]) == 649_318_950


def test_client_disconnect_mid_stream_is_recorded(serve: ServeFactory) -> None:
    server = serve({**PRICED_SIM, "providers": {"sim": {"chunk_interval_ms": 20}}})
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={
            "model": "sim/gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 200,
            "stream": True,
        },
    ) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    logged = rows(server)
    assert logged[["status", "error_type"]].values.tolist() == [[499, "client_disconnected"]]
