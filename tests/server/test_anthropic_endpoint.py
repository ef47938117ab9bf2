"""The official `anthropic` client drives the gateway's `/anthropic/v1/messages`."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from govern.server.embedded import EmbeddedServer
from govern.sim.server import Fault, SimUpstreamThread
from tests.conftest import ServeFactory, upstream_config


def client(server: EmbeddedServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{server.url}/anthropic", api_key="unused", max_retries=0)


@pytest.mark.parametrize(
    "model",
    [
        "sim/claude-sonnet-4-5",
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-4o-mini",
        "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    ],
)
def test_message_through_every_provider(
    serve: ServeFactory, sim_upstream: SimUpstreamThread, model: str
) -> None:
    server = serve(upstream_config(sim_upstream))
    message = client(server).messages.create(
        model=model,
        max_tokens=6,
        system="be brief",
        messages=[{"role": "user", "content": "one two three"}],
    )
    assert message.role == "assistant"
    assert message.stop_reason == "max_tokens"
    text = "".join(b.text for b in message.content if b.type == "text")
    assert len(text.split()) == 6
    # "be brief" + "one two three" = 5 words in, 6 out
    assert (message.usage.input_tokens, message.usage.output_tokens) == (5, 6)


@pytest.mark.parametrize("model", ["sim/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"])
def test_streaming_message(
    serve: ServeFactory, sim_upstream: SimUpstreamThread, model: str
) -> None:
    server = serve(upstream_config(sim_upstream))
    with client(server).messages.stream(
        model=model,
        max_tokens=5,
        messages=[{"role": "user", "content": "hello there"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert len(text.split()) == 5
    assert final.usage.output_tokens == 5
    assert final.usage.input_tokens == 2


def test_tool_use(sim_gateway: EmbeddedServer) -> None:
    message = client(sim_gateway).messages.create(
        model="sim/claude-sonnet-4-5",
        max_tokens=50,
        tools=[
            {
                "name": "lookup",
                "description": "find things",
                "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            }
        ],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "find it"}],
    )
    assert message.stop_reason == "tool_use"
    block = next(b for b in message.content if b.type == "tool_use")
    assert block.name == "lookup" and block.input == {"q": "sim"}


def test_errors_have_anthropic_shape(sim_gateway: EmbeddedServer) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        client(sim_gateway).messages.create(
            model="claude-9", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    assert "'claude-9' does not exist" in info.value.message
    response = httpx.post(
        f"{sim_gateway.url}/anthropic/v1/messages",
        json={"model": "sim/claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
    assert response.headers["x-govern-request-id"] == body["request_id"]


def test_upstream_failure_mid_stream_is_an_error_event(
    serve: ServeFactory, sim_upstream: SimUpstreamThread
) -> None:
    server = serve(upstream_config(sim_upstream))
    sim_upstream.sim.add_fault(Fault(cut_after=4))
    with (
        pytest.raises(anthropic.APIError),
        client(server).messages.stream(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=40,
            messages=[{"role": "user", "content": "hello"}],
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass
