"""Retries, fallbacks and upstream errors, with the official client against sim upstreams."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from govern.sim.server import Fault, SimUpstreamThread
from tests.conftest import ServeFactory, upstream_config

HELLO = [{"role": "user", "content": "hello"}]


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def ask(url: str, **body: Any) -> httpx.Response:
    payload = {"messages": HELLO, "max_tokens": 3, **body}
    return httpx.post(f"{url}/v1/chat/completions", json=payload, timeout=30)


def upstream_bodies(sim: SimUpstreamThread) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in sim.sim.requests if r.protocol == "openai"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_fallback_after_retryable_status(
    serve: ServeFactory, sim_upstream: SimUpstreamThread, status: int
) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(status=status, model="gpt-4o-mini", protocol="openai"))
    response = client(server.url).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini",
        messages=HELLO,
        max_tokens=3,  # type: ignore[arg-type]
        extra_body={"fallbacks": ["sim/gpt-4o-mini"]},
    )
    assert response.headers["x-govern-model"] == "sim/gpt-4o-mini"
    assert response.headers["x-govern-fallback-index"] == "1"
    # primary: 1 try + max_retries (1) retry, then the fallback
    assert response.headers["x-govern-attempts"] == "3"
    assert len(upstream_bodies(sim_upstream)) == 2
    assert response.parse().usage.completion_tokens == 3  # type: ignore[union-attr]


def test_fallback_after_timeout(serve: ServeFactory, sim_upstream: SimUpstreamThread) -> None:
    config = upstream_config(sim_upstream, openai={"timeout": 0.3, "max_retries": 0})
    server = serve(config)
    sim_upstream.sim.add_fault(Fault(hang=True, protocol="openai"))
    response = ask(
        server.url, model="openai/gpt-4o-mini", fallbacks=["anthropic/claude-sonnet-4-5"]
    )
    assert response.status_code == 200
    assert response.headers["x-govern-model"] == "anthropic/claude-sonnet-4-5"


def test_retry_on_same_provider_succeeds(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(status=503, times=1))
    response = ask(server.url, model="openai/gpt-4o-mini")
    assert response.status_code == 200
    assert response.headers["x-govern-attempts"] == "2"
    assert response.headers["x-govern-fallback-index"] == "0"


def test_retry_moves_to_another_key(serve: ServeFactory, sim_upstream: SimUpstreamThread) -> None:
    keys = [{"name": "a", "value": "sk-key-a"}, {"name": "b", "value": "sk-key-b"}]
    server = serve(upstream_config(sim_upstream, openai={"keys": keys}))
    for _ in range(5):
        sim_upstream.sim.requests.clear()
        sim_upstream.sim.add_fault(Fault(status=500, key="sk-key-a", times=1))
        response = ask(server.url, model="openai/gpt-4o-mini")
        assert response.status_code == 200
        used = [r.headers["Authorization"] for r in sim_upstream.sim.requests]
        # a failure on key a is retried on key b; a first pick of b needs no retry
        assert used in (["Bearer sk-key-a", "Bearer sk-key-b"], ["Bearer sk-key-b"])
        sim_upstream.sim.clear_faults()


def test_keys_are_chosen_among_those_listing_the_model(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    keys = [
        {"name": "mini", "value": "sk-mini", "models": ["gpt-4o-mini"]},
        {"name": "big", "value": "sk-big", "models": ["gpt-4o"]},
    ]
    server = serve(upstream_config(sim_upstream, openai={"keys": keys}))
    for model, key in (("gpt-4o-mini", "sk-mini"), ("gpt-4o", "sk-big")):
        sim_upstream.sim.requests.clear()
        assert ask(server.url, model=f"openai/{model}").status_code == 200
        assert sim_upstream.sim.requests[0].headers["Authorization"] == f"Bearer {key}"


def test_client_error_passes_through_without_fallback(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(status=400, message="Invalid 'messages[0]': bad thing"))
    with pytest.raises(openai.BadRequestError) as info:
        client(server.url).chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=HELLO,  # type: ignore[arg-type]
            extra_body={"fallbacks": ["sim/gpt-4o-mini"]},
        )
    assert "Invalid 'messages[0]': bad thing" in info.value.message
    assert len(upstream_bodies(sim_upstream)) == 1


def test_all_attempts_failing_is_502(serve: ServeFactory, sim_upstream: SimUpstreamThread) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(status=500, message="upstream exploded"))
    response = ask(
        server.url, model="openai/gpt-4o-mini", fallbacks=["anthropic/claude-sonnet-4-5"]
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "upstream_unavailable"
    assert "all 4 attempts failed" in error["message"]
    assert "openai/gpt-4o-mini" in error["message"]
    assert "anthropic/claude-sonnet-4-5" in error["message"]


def test_upstream_429_everywhere_stays_429_with_retry_after(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream, openai={"max_retries": 0}))
    sim_upstream.sim.add_fault(Fault(status=429, retry_after=30, message="slow down"))
    response = ask(server.url, model="openai/gpt-4o-mini")
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "upstream_rate_limited"
    assert response.headers["retry-after"] == "30"


def test_timeout_everywhere_is_504(serve: ServeFactory, sim_upstream: SimUpstreamThread) -> None:
    server = serve(upstream_config(sim_upstream, openai={"timeout": 0.2, "max_retries": 0}))
    sim_upstream.sim.add_fault(Fault(hang=True))
    response = ask(server.url, model="openai/gpt-4o-mini")
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "upstream_timeout"


def test_unreachable_upstream_is_502(serve: ServeFactory) -> None:
    config = {
        "providers": {
            "openai": {
                "base_url": "http://127.0.0.1:9/v1",
                "keys": [{"value": "sk-unreachable"}],
                "max_retries": 0,
                "connect_timeout": 2,
            }
        }
    }
    server = serve(config)
    response = ask(server.url, model="openai/gpt-4o-mini")
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_unavailable"
    assert "sk-unreachable" not in response.text


def test_stream_cut_midway_ends_with_error_event(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(cut_after=3))
    stream = client(server.url).chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=HELLO,
        max_tokens=50,
        stream=True,  # type: ignore[arg-type]
    )
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert 0 < len(received) <= 3


def test_stream_failing_before_first_byte_falls_back(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(status=503, protocol="openai"))
    stream = client(server.url).chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=HELLO,
        max_tokens=4,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
        extra_body={"fallbacks": ["sim/gpt-4o-mini"]},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_extra_fields_reach_openai_compatible_upstreams_only(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream))
    response = ask(
        server.url,
        model="openai/gpt-4o-mini",
        store=True,
        metadata={"team": "research"},
        fallbacks=["sim/gpt-4o-mini"],
    )
    assert response.status_code == 200
    body = upstream_bodies(sim_upstream)[0]
    assert body["store"] is True and body["metadata"] == {"team": "research"}
    assert "fallbacks" not in body
    assert body["model"] == "gpt-4o-mini"
    sim_upstream.sim.requests.clear()
    assert ask(server.url, model="anthropic/claude-sonnet-4-5", store=True).status_code == 200
    anthropic_body = json.loads(sim_upstream.sim.requests[0].body)
    assert "store" not in anthropic_body


def test_streaming_always_asks_upstream_for_usage(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream))
    chunks = list(
        client(server.url).chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=HELLO,
            max_tokens=2,
            stream=True,  # type: ignore[arg-type]
        )
    )
    assert all(c.usage is None for c in chunks)
    assert upstream_bodies(sim_upstream)[0]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "model",
    [
        "openai/gpt-4o-mini",
        "anthropic/claude-sonnet-4-5",
        "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
        "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_every_provider_through_the_async_client(
    serve: ServeFactory, sim_upstream: SimUpstreamThread, model: str, stream: bool
) -> None:
    server = serve(upstream_config(sim_upstream))
    c = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "one two three"},
    ]
    if stream:
        chunks = [
            c
            async for c in await c.chat.completions.create(
                model=model,
                messages=messages,
                max_tokens=5,
                stream=True,  # type: ignore[arg-type]
                stream_options={"include_usage": True},
            )
        ]
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        usage = chunks[-1].usage
    else:
        completion = await c.chat.completions.create(
            model=model,
            messages=messages,
            max_tokens=5,  # type: ignore[arg-type]
        )
        text = completion.choices[0].message.content or ""
        usage = completion.usage
    await c.close()
    assert len(text.split()) == 5
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (5, 5)


@pytest.mark.parametrize(
    "model",
    [
        "openai/gpt-4o-mini",
        "anthropic/claude-sonnet-4-5",
        "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    ],
)
def test_tool_calls_through_every_provider(
    serve: ServeFactory, sim_upstream: SimUpstreamThread, model: str
) -> None:
    server = serve(upstream_config(sim_upstream))
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    completion = client(server.url).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "please lookup this"}],  # type: ignore[arg-type]
        tools=tools,
        tool_choice="required",  # type: ignore[arg-type]
    )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"q": "sim"}  # type: ignore[union-attr]
