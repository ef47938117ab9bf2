"""The `anthropic` provider: translation both ways, streams, usage and errors.

Recorded payloads (tests/fixtures/anthropic, written from Anthropic's API reference) are
served over real HTTP by a replay server; end-to-end behaviour is checked against the
simulated Anthropic upstream, which validates requests as strictly as the real API.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import msgspec
import pytest

from govern.config import ProviderConfig, ProviderKey
from govern.errors import (
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from govern.providers.anthropic import AnthropicProvider
from govern.providers.base import Call
from govern.sim.server import Fault, SimUpstreamThread
from govern.transport import AiohttpTransport
from govern.usage import Usage
from govern.wire.openai import ChatCompletionChunk, ChatCompletionRequest, EmbeddingRequest
from tests.providers.anthropic_support import ReplayServer, Reply, fixture

SECRET = "sk-ant-api03-SECRET-never-shown"
KEY = ProviderKey(name="primary", value=SECRET)


@pytest.fixture
async def replay() -> AsyncIterator[ReplayServer]:
    server = ReplayServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    t = AiohttpTransport()
    yield t
    await t.aclose()


def provider(url: str, transport: AiohttpTransport, **config: Any) -> AnthropicProvider:
    return AnthropicProvider("anthropic", ProviderConfig(base_url=url, **config), transport)


def call(model: str = "claude-sonnet-4-5", **extra: bytes) -> Call:
    return Call("anthropic", model, KEY, {k: msgspec.Raw(v) for k, v in extra.items()})


def request(**fields: Any) -> ChatCompletionRequest:
    body = {"model": "anthropic/claude-sonnet-4-5", **fields}
    body.setdefault("messages", [{"role": "user", "content": "hello there"}])
    return msgspec.json.decode(msgspec.json.encode(body), type=ChatCompletionRequest)


def sent(server: ReplayServer) -> Any:
    return msgspec.json.decode(server.received[-1].body)


async def collect(stream: AsyncIterable[ChatCompletionChunk]) -> list[ChatCompletionChunk]:
    return [chunk async for chunk in stream]


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def arguments_of(chunks: list[ChatCompletionChunk], index: int = 0) -> str:
    return "".join(
        tc.function.arguments or ""
        for c in chunks
        for tc in c.choices[0].delta.tool_calls or ()
        if tc.index == index and tc.function
    )


# --- request translation -----------------------------------------------------------------


async def test_request_translation_matches_recorded_anthropic_request(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    openai = msgspec.json.decode(fixture("openai_request.json"), type=ChatCompletionRequest)
    await provider(replay.url, transport).chat(openai, call())
    assert sent(replay) == msgspec.json.decode(fixture("openai_request_as_anthropic.json"))


async def test_request_carries_key_and_version_headers(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    await provider(replay.url, transport).chat(request(), call())
    headers = replay.received[-1].headers
    assert replay.received[-1].path == "/v1/messages"
    assert headers["x-api-key"] == SECRET
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"


async def test_base_url_ending_in_v1_is_not_doubled(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    await provider(replay.url + "/v1/", transport).chat(request(), call())
    assert replay.received[-1].path == "/v1/messages"


async def test_max_tokens_defaults_to_config_when_client_sets_none(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    await provider(replay.url, transport, default_max_tokens=777).chat(request(), call())
    assert sent(replay)["max_tokens"] == 777


async def test_max_tokens_is_the_clients_limit(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    await provider(replay.url, transport).chat(request(max_tokens=12), call())
    assert sent(replay)["max_tokens"] == 12


async def test_temperature_above_anthropics_maximum_is_lowered(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    await provider(replay.url, transport).chat(request(temperature=1.6), call())
    assert sent(replay)["temperature"] == 1.0


async def test_extra_fields_and_fallbacks_are_not_sent(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    openai = request(fallbacks=["openai/gpt-4o-mini"], seed=3)
    await provider(replay.url, transport).chat(openai, call(logit_scale=b"2"))
    body = sent(replay)
    assert {"fallbacks", "logit_scale", "seed"}.isdisjoint(body)


async def test_stream_request_asks_for_a_stream(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("stream_tool_use.sse"), content_type="text/event-stream")
    stream = await provider(replay.url, transport).stream(request(stream=True), call())
    await collect(stream)
    assert sent(replay)["stream"] is True


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_time"}},
            {"type": "tool", "name": "get_time"},
        ),
    ],
)
async def test_tool_choice_mapping(
    replay: ReplayServer, transport: AiohttpTransport, choice: Any, expected: dict[str, str]
) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    tools = [{"type": "function", "function": {"name": "get_time"}}]
    await provider(replay.url, transport).chat(request(tools=tools, tool_choice=choice), call())
    assert sent(replay)["tool_choice"] == expected


async def test_several_choices_are_rejected_before_any_call(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await provider(replay.url, transport).chat(request(n=2), call())
    assert info.value.status == 400
    assert "n > 1" in info.value.message
    assert replay.received == []


async def test_audio_input_is_rejected(replay: ReplayServer, transport: AiohttpTransport) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    with pytest.raises(UpstreamStatusError, match="audio"):
        await provider(replay.url, transport).chat(
            request(messages=[{"role": "user", "content": [audio]}]), call()
        )


# --- response translation ----------------------------------------------------------------


async def test_text_response(replay: ReplayServer, transport: AiohttpTransport) -> None:
    replay.reply = Reply(body=fixture("message_text.json"))
    result = await provider(replay.url, transport).chat(request(), call())
    choice = result.completion.choices[0]
    assert choice.message.content == "Hi! My name is Claude."
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert result.completion.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert result.completion.model == "claude-sonnet-4-5-20250929"


async def test_tool_use_response_becomes_tool_calls(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_tool_use.json"))
    result = await provider(replay.url, transport).chat(request(), call())
    choice = result.completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "I'll check the current weather in San Francisco for you."
    [tool_call] = choice.message.tool_calls or []
    assert tool_call.id == "toolu_01A09q90qw90lq917835lq9"
    assert tool_call.function.name == "get_weather"
    assert msgspec.json.decode(tool_call.function.arguments) == {
        "location": "San Francisco, CA",
        "unit": "celsius",
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
async def test_stop_reason_mapping(
    replay: ReplayServer, transport: AiohttpTransport, stop_reason: str, finish: str
) -> None:
    body = fixture("message_text.json").replace(b'"end_turn"', f'"{stop_reason}"'.encode())
    replay.reply = Reply(body=body)
    result = await provider(replay.url, transport).chat(request(), call())
    assert result.completion.choices[0].finish_reason == finish


async def test_cache_usage_with_ttl_breakdown(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_cache_usage.json"))
    result = await provider(replay.url, transport).chat(request(), call())
    assert result.usage == Usage(
        input_tokens=21 + 187354 + 2351,
        cache_read_tokens=187354,
        cache_write_5m_tokens=451,
        cache_write_1h_tokens=1900,
        output_tokens=393,
    )
    assert result.usage.uncached_input_tokens == 21


async def test_cache_writes_without_breakdown_count_as_5_minute(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_cache_usage_no_breakdown.json"))
    result = await provider(replay.url, transport).chat(request(), call())
    assert result.usage == Usage(
        input_tokens=12 + 1024, cache_write_5m_tokens=1024, output_tokens=3
    )


async def test_blocks_of_unmodelled_types_are_skipped(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("message_server_tool.json"))
    result = await provider(replay.url, transport).chat(request(), call())
    message = result.completion.choices[0].message
    assert message.content == "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan."
    assert message.tool_calls is None


# --- streams from recorded transcripts ---------------------------------------------------


async def stream_fixture(
    replay: ReplayServer, transport: AiohttpTransport, name: str
) -> tuple[list[ChatCompletionChunk], Usage | None]:
    replay.reply = Reply(body=fixture(name), content_type="text/event-stream", piece=7)
    stream = await provider(replay.url, transport).stream(request(stream=True), call())
    chunks = await collect(stream)
    return chunks, stream.usage


async def test_stream_starts_with_the_role_chunk(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    chunks, _ = await stream_fixture(replay, transport, "stream_tool_use.sse")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].id == "msg_014p7gG3wDgGV9EUtLvnow3U"
    assert {c.id for c in chunks} == {"msg_014p7gG3wDgGV9EUtLvnow3U"}


async def test_stream_text_deltas(replay: ReplayServer, transport: AiohttpTransport) -> None:
    chunks, _ = await stream_fixture(replay, transport, "stream_tool_use.sse")
    assert text_of(chunks) == "Okay, let's check the weather for San Francisco, CA:"


async def test_stream_tool_call_deltas(replay: ReplayServer, transport: AiohttpTransport) -> None:
    chunks, _ = await stream_fixture(replay, transport, "stream_tool_use.sse")
    opening = next(c for c in chunks if c.choices[0].delta.tool_calls)
    [first] = opening.choices[0].delta.tool_calls or []
    assert (first.index, first.id, first.type) == (0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "function")
    assert first.function is not None and first.function.name == "get_weather"
    assert msgspec.json.decode(arguments_of(chunks)) == {
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }


async def test_stream_ends_with_the_finish_chunk(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    chunks, _ = await stream_fixture(replay, transport, "stream_tool_use.sse")
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert all(c.usage is None and c.choices for c in chunks)


async def test_stream_usage_combines_message_start_and_delta(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    _, usage = await stream_fixture(replay, transport, "stream_tool_use.sse")
    assert usage == Usage(
        input_tokens=472 + 2000 + 100,
        cache_read_tokens=2000,
        cache_write_5m_tokens=100,
        output_tokens=89,
    )


async def test_stream_thinking_is_not_content_but_counts_as_reasoning(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    chunks, usage = await stream_fixture(replay, transport, "stream_thinking.sse")
    assert text_of(chunks) == "The greatest common divisor of 1071 and 462 is **21**."
    assert usage == Usage(input_tokens=40, output_tokens=120, reasoning_tokens=95)


async def test_stream_error_event_raises_after_the_content_so_far(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("stream_error.sse"), content_type="text/event-stream")
    stream = await provider(replay.url, transport).stream(request(stream=True), call())
    seen: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamStatusError) as info:
        async for chunk in stream:
            seen.append(chunk)
    assert text_of(seen) == "Hello"
    assert info.value.message == "Overloaded"
    assert info.value.upstream_status == 529
    assert info.value.retryable


async def test_stream_without_message_stop_raises(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    body = fixture("stream_tool_use.sse").split(b"event: message_stop")[0]
    replay.reply = Reply(body=body, content_type="text/event-stream")
    stream = await provider(replay.url, transport).stream(request(stream=True), call())
    with pytest.raises(UpstreamUnavailable, match="before message_stop"):
        await collect(stream)


async def test_stream_cut_connection_raises(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    body = fixture("stream_tool_use.sse")[:900]
    replay.reply = Reply(body=body, content_type="text/event-stream", cut=True)
    stream = await provider(replay.url, transport).stream(request(stream=True), call())
    with pytest.raises(UpstreamUnavailable):
        await collect(stream)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "gateway_status", "retryable"),
    [
        ("error_invalid_request.json", 400, 400, False),
        ("error_rate_limit.json", 429, 429, True),
        ("error_overloaded.json", 529, 502, True),
    ],
)
async def test_error_bodies_map_to_status_errors(
    replay: ReplayServer,
    transport: AiohttpTransport,
    name: str,
    status: int,
    gateway_status: int,
    retryable: bool,
) -> None:
    body = fixture(name)
    replay.reply = Reply(body=body, status=status)
    with pytest.raises(UpstreamStatusError) as info:
        await provider(replay.url, transport).chat(request(), call())
    error = info.value
    assert error.message == msgspec.json.decode(body)["error"]["message"]
    assert (error.upstream_status, error.status, error.retryable) == (
        status,
        gateway_status,
        retryable,
    )


async def test_client_error_keeps_anthropics_error_type(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("error_invalid_request.json"), status=400)
    with pytest.raises(UpstreamStatusError) as info:
        await provider(replay.url, transport).chat(request(), call())
    assert info.value.type == "invalid_request_error"


async def test_retry_after_header_is_kept(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(
        body=fixture("error_rate_limit.json"), status=429, headers={"retry-after": "7"}
    )
    with pytest.raises(UpstreamStatusError) as info:
        await provider(replay.url, transport).chat(request(), call())
    assert info.value.retry_after == 7


async def test_error_without_anthropic_body(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=b"<html>bad gateway</html>", status=502, content_type="text/html")
    with pytest.raises(UpstreamStatusError) as info:
        await provider(replay.url, transport).chat(request(), call())
    assert info.value.message == "anthropic answered HTTP 502 without an Anthropic error body"
    assert info.value.retryable


async def test_stream_refused_before_200_raises_from_stream(
    replay: ReplayServer, transport: AiohttpTransport
) -> None:
    replay.reply = Reply(body=fixture("error_overloaded.json"), status=529)
    with pytest.raises(UpstreamStatusError, match="Overloaded"):
        await provider(replay.url, transport).stream(request(stream=True), call())


async def test_response_that_is_not_json(replay: ReplayServer, transport: AiohttpTransport) -> None:
    replay.reply = Reply(body=b'{"id": "msg_')
    with pytest.raises(UpstreamUnavailable, match="not valid JSON"):
        await provider(replay.url, transport).chat(request(), call())


async def test_unreachable_upstream_message_has_no_key(transport: AiohttpTransport) -> None:
    unreachable = provider("http://127.0.0.1:9", transport)
    with pytest.raises(UpstreamUnavailable) as info:
        await unreachable.chat(request(), call())
    assert SECRET not in str(info.value)
    assert "unreachable" in info.value.message


async def test_embeddings_are_unsupported(transport: AiohttpTransport) -> None:
    with pytest.raises(UpstreamStatusError, match="embeddings") as info:
        await provider("http://127.0.0.1:9", transport).embed(
            EmbeddingRequest(model="claude", input="hi"), call()
        )
    assert info.value.status == 400


# --- against the simulated upstream ------------------------------------------------------


async def test_chat_against_sim_is_exact(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "tell me three things"},
    ]
    result = await provider(sim_upstream.url, transport).chat(
        request(messages=messages, max_tokens=9), call()
    )
    assert len((result.completion.choices[0].message.content or "").split()) == 9
    assert result.completion.choices[0].finish_reason == "length"
    assert result.usage == Usage(input_tokens=6, output_tokens=9)


async def test_stream_against_sim_matches_chat(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    p = provider(sim_upstream.url, transport)
    whole = await p.chat(request(max_tokens=7), call())
    stream = await p.stream(request(max_tokens=7, stream=True), call())
    chunks = await collect(stream)
    assert text_of(chunks) == whole.completion.choices[0].message.content
    assert stream.usage == whole.usage == Usage(input_tokens=2, output_tokens=7)
    assert chunks[-1].choices[0].finish_reason == "length"


async def test_tool_call_against_sim(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    p = provider(sim_upstream.url, transport)
    stream = await p.stream(request(tools=tools, tool_choice="required", stream=True), call())
    chunks = await collect(stream)
    assert msgspec.json.decode(arguments_of(chunks)) == {"city": "sim"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_tool_results_round_trip_against_sim(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    # The sim rejects a tool_use without its tool_result in the very next user turn, so
    # this passes only if consecutive tool messages and the user's follow-up are merged.
    messages = msgspec.json.decode(fixture("openai_request.json"))["messages"]
    result = await provider(sim_upstream.url, transport).chat(
        request(messages=messages, max_tokens=3), call()
    )
    assert result.completion.choices[0].finish_reason == "length"
    body = msgspec.json.decode(sim_upstream.sim.requests[-1].body)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


async def test_stop_sequence_against_sim(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    p = provider(sim_upstream.url, transport)
    full = await p.chat(request(max_tokens=8), call())
    words = (full.completion.choices[0].message.content or "").split()
    cut = await p.chat(request(max_tokens=8, stop=[words[3]]), call())
    assert cut.completion.choices[0].message.content == " ".join(words[:3])
    assert cut.completion.choices[0].finish_reason == "stop"


async def test_sim_fault_status_maps_with_retry_after(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, message="slow down", retry_after=3))
    with pytest.raises(UpstreamStatusError) as info:
        await provider(sim_upstream.url, transport).chat(request(), call())
    assert (info.value.message, info.value.retry_after, info.value.retryable) == (
        "slow down",
        3,
        True,
    )


async def test_sim_auth_failure_message_has_no_key(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    sim_upstream.sim.add_fault(Fault(status=401, message="invalid x-api-key"))
    with pytest.raises(UpstreamStatusError) as info:
        await provider(sim_upstream.url, transport).chat(request(), call())
    assert info.value.status == 401
    assert SECRET not in str(info.value) and SECRET not in info.value.message


async def test_sim_cut_stream_raises(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    sim_upstream.sim.add_fault(Fault(cut_after=4))
    stream = await provider(sim_upstream.url, transport).stream(
        request(max_tokens=20, stream=True), call()
    )
    with pytest.raises(UpstreamError):
        await collect(stream)


async def test_sim_malformed_stream_raises(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True))
    stream = await provider(sim_upstream.url, transport).stream(request(stream=True), call())
    with pytest.raises(UpstreamUnavailable, match="malformed"):
        await collect(stream)


async def test_sim_hang_times_out(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    sim_upstream.sim.add_fault(Fault(hang=True, times=1))
    with pytest.raises(UpstreamTimeout):
        await provider(sim_upstream.url, transport, timeout=0.3).chat(request(), call())


async def test_sim_hang_before_stream_head_times_out(
    sim_upstream: SimUpstreamThread, transport: AiohttpTransport
) -> None:
    sim_upstream.sim.add_fault(Fault(hang=True, times=1))
    with pytest.raises(UpstreamTimeout):
        await provider(sim_upstream.url, transport, timeout=0.3).stream(
            request(stream=True), call()
        )
