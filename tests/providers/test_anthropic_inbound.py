"""The gateway's Anthropic endpoint functions: requests in, responses and streams out.

Whatever the functions produce is read back with the official `anthropic` SDK (served
over real HTTP), so its parser and stream accumulator are the judge of the wire format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import msgspec
import pytest

from govern.config import ProviderConfig, ProviderKey
from govern.errors import (
    AuthenticationFailed,
    GovernError,
    InvalidRequest,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from govern.inbound.anthropic import (
    decode_request,
    error_body,
    error_event,
    to_anthropic_message,
    to_openai_request,
)
from govern.inbound.anthropic_stream import anthropic_sse
from govern.pipeline import openai_usage
from govern.providers.anthropic import AnthropicProvider
from govern.providers.base import Call, ChatStream
from govern.sim.server import SimUpstreamThread
from govern.transport import AiohttpTransport
from govern.usage import Usage
from govern.wire.openai import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from tests.providers.anthropic_support import ReplayServer, Reply, fixture


@pytest.fixture
async def replay() -> AsyncIterator[ReplayServer]:
    server = ReplayServer()
    await server.start()
    yield server
    await server.stop()


def anthropic_request(**fields: Any) -> bytes:
    body = {"model": "sim/claude-sonnet-4-5", "max_tokens": 10, **fields}
    body.setdefault("messages", [{"role": "user", "content": "hello"}])
    return msgspec.json.encode(body)


def plain(value: object) -> Any:
    """A Struct as plain JSON data (raw JSON fields decoded, whitespace ignored)."""
    return msgspec.json.decode(msgspec.json.encode(value))


async def chunks_of(items: list[ChatCompletionChunk]) -> AsyncIterator[ChatCompletionChunk]:
    for item in items:
        yield item


async def sse_bytes(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in stream])


async def read_with_sdk(replay: ReplayServer, body: bytes) -> anthropic.types.Message:
    """Serve `body` as an SSE response and accumulate it with the SDK's stream helper."""
    replay.reply = Reply(body=body, content_type="text/event-stream", piece=11)
    async with (
        anthropic.AsyncAnthropic(api_key="k", base_url=replay.url, max_retries=0) as client,
        client.messages.stream(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        return await stream.get_final_message()


def recorded_chunks() -> list[ChatCompletionChunk]:
    return msgspec.json.decode(fixture("openai_stream_chunks.json"), type=list[ChatCompletionChunk])


# --- requests ----------------------------------------------------------------------------


def test_missing_max_tokens_is_a_400_naming_the_field() -> None:
    body = msgspec.json.encode({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    with pytest.raises(InvalidRequest) as info:
        decode_request(body)
    assert (info.value.message, info.value.param) == ("max_tokens: Field required", "max_tokens")


def test_wrong_type_deep_in_messages_names_the_path() -> None:
    with pytest.raises(InvalidRequest, match=r"^messages\.0\.content\.0\.type: Invalid value"):
        decode_request(anthropic_request(messages=[{"role": "user", "content": [{"type": "x"}]}]))


def test_body_that_is_not_json() -> None:
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        decode_request(b'{"model": ')


def test_zero_max_tokens_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="greater than or equal to 1"):
        decode_request(anthropic_request(max_tokens=0))


def test_request_translation_matches_recorded_openai_request() -> None:
    request = to_openai_request(decode_request(fixture("inbound_request.json")))
    expected = msgspec.json.decode(
        fixture("inbound_request_as_openai.json"), type=ChatCompletionRequest
    )
    assert plain(request) == plain(expected)


def test_non_streaming_request_asks_for_no_stream() -> None:
    request = to_openai_request(decode_request(anthropic_request(system="be brief")))
    assert (request.stream, request.stream_options) == (None, None)
    assert plain(request.messages) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]


@pytest.mark.parametrize(
    ("choice", "expected", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
        ({"type": "tool", "name": "f"}, {"type": "function", "function": {"name": "f"}}, None),
        ({"type": "none"}, "none", None),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: Any, parallel: bool | None) -> None:
    tools = [{"name": "f", "input_schema": {"type": "object"}}]
    request = to_openai_request(decode_request(anthropic_request(tools=tools, tool_choice=choice)))
    chosen = plain(request.tool_choice)
    if isinstance(chosen, dict):
        chosen.setdefault("type", "function")
    assert (chosen, request.parallel_tool_calls) == (expected, parallel)


def test_structured_output_becomes_a_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = anthropic_request(output_config={"format": {"type": "json_schema", "schema": schema}})
    request = to_openai_request(decode_request(body))
    assert plain(request.response_format) == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }


def test_images_returned_by_a_tool_follow_the_tool_message() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    messages = [
        {"role": "user", "content": "look"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "done"}, image],
                }
            ],
        },
    ]
    request = to_openai_request(decode_request(anthropic_request(messages=messages)))
    assert plain(request.messages[-2:]) == [
        {"role": "tool", "tool_call_id": "t1", "content": [{"type": "text", "text": "done"}]},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}],
        },
    ]


def test_url_documents_are_rejected() -> None:
    doc = {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}
    with pytest.raises(InvalidRequest, match="'url' are not supported"):
        to_openai_request(
            decode_request(anthropic_request(messages=[{"role": "user", "content": [doc]}]))
        )


# --- responses ---------------------------------------------------------------------------


def recorded_completion() -> ChatCompletion:
    return msgspec.json.decode(fixture("openai_completion.json"), type=ChatCompletion)


def test_completion_becomes_a_message_the_sdk_parses() -> None:
    usage = Usage(input_tokens=1117, cache_read_tokens=1024, output_tokens=46)
    message = to_anthropic_message(recorded_completion(), usage, model="openai/gpt-4.1")
    parsed = anthropic.types.Message.model_validate_json(msgspec.json.encode(message))
    text, tool = parsed.content
    assert text.type == "text" and text.text == "Checking the forecast now."
    assert tool.type == "tool_use" and tool.input == {"location": "Paris, France"}
    assert (tool.id, tool.name) == ("call_12345xyz", "get_weather")
    assert parsed.stop_reason == "tool_use"
    assert parsed.model == "openai/gpt-4.1"


def test_message_usage_excludes_cache_tokens_from_input() -> None:
    usage = Usage(
        input_tokens=1000,
        cache_read_tokens=600,
        cache_write_5m_tokens=100,
        cache_write_1h_tokens=50,
        output_tokens=46,
    )
    parsed = anthropic.types.Message.model_validate_json(
        msgspec.json.encode(to_anthropic_message(recorded_completion(), usage))
    ).usage
    assert (parsed.input_tokens, parsed.cache_read_input_tokens) == (250, 600)
    assert parsed.cache_creation_input_tokens == 150
    assert parsed.cache_creation is not None
    assert parsed.cache_creation.ephemeral_5m_input_tokens == 100
    assert parsed.cache_creation.ephemeral_1h_input_tokens == 50


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")],
)
def test_finish_reason_becomes_stop_reason(finish: str, stop: str) -> None:
    completion = recorded_completion()
    completion.choices[0].finish_reason = finish
    assert to_anthropic_message(completion, Usage()).stop_reason == stop


# --- streams -----------------------------------------------------------------------------


async def test_recorded_openai_stream_is_accumulated_by_the_sdk(replay: ReplayServer) -> None:
    body = await sse_bytes(anthropic_sse(chunks_of(recorded_chunks()), model="openai/gpt-4o"))
    message = await read_with_sdk(replay, body)
    text, weather, clock = message.content
    assert text.type == "text" and text.text == "Let me check the weather."
    assert weather.type == "tool_use" and weather.input == {"location": "Paris"}
    assert weather.id == "call_DdmO9pD3xa9XTPNJ32zg2hcA" and weather.name == "get_weather"
    assert clock.type == "tool_use" and clock.input == {} and clock.name == "get_time"
    assert message.stop_reason == "tool_use"
    assert message.model == "openai/gpt-4o"


async def test_stream_usage_comes_from_the_usage_chunk(replay: ReplayServer) -> None:
    body = await sse_bytes(anthropic_sse(chunks_of(recorded_chunks())))
    usage = (await read_with_sdk(replay, body)).usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (
        2006 - 1920,
        1920,
        300,
    )


async def test_stream_usage_callback_keeps_cache_writes(replay: ReplayServer) -> None:
    final = Usage(
        input_tokens=2006, cache_read_tokens=1000, cache_write_1h_tokens=900, output_tokens=300
    )
    body = await sse_bytes(anthropic_sse(chunks_of(recorded_chunks()), usage=lambda: final))
    usage = (await read_with_sdk(replay, body)).usage
    assert (usage.input_tokens, usage.cache_creation_input_tokens) == (106, 900)


async def test_stream_event_sequence() -> None:
    body = await sse_bytes(anthropic_sse(chunks_of(recorded_chunks())))
    names = [line[7:].decode() for line in body.split(b"\n") if line.startswith(b"event: ")]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


async def test_empty_stream_is_still_a_complete_message(replay: ReplayServer) -> None:
    message = await read_with_sdk(replay, await sse_bytes(anthropic_sse(chunks_of([]))))
    assert message.content == [] and message.stop_reason == "end_turn"


async def test_failure_midway_ends_with_an_error_event_the_sdk_raises(replay: ReplayServer) -> None:
    async def failing() -> AsyncIterator[ChatCompletionChunk]:
        yield recorded_chunks()[1]
        raise UpstreamUnavailable("anthropic sent a malformed stream: cut", provider="anthropic")

    body = await sse_bytes(anthropic_sse(failing()))
    assert body.endswith(
        error_event(
            UpstreamUnavailable("anthropic sent a malformed stream: cut", provider="anthropic")
        )
    )
    with pytest.raises(anthropic.APIStatusError, match="malformed stream: cut") as info:
        await read_with_sdk(replay, body)
    assert info.value.body["error"]["type"] == "api_error"  # type: ignore[index]


# --- errors ------------------------------------------------------------------------------


def budget_exceeded() -> GovernError:
    error = GovernError("budget of team data-science exhausted")
    error.status, error.type = 402, "budget_exceeded"
    return error


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidRequest("max_tokens: Field required"), "invalid_request_error"),
        (AuthenticationFailed("unknown key"), "authentication_error"),
        (budget_exceeded(), "billing_error"),
        (
            UpstreamStatusError("slow down", provider="anthropic", upstream_status=429),
            "rate_limit_error",
        ),
        (
            UpstreamStatusError(
                "bad", provider="anthropic", upstream_status=400, error_type="invalid_request_error"
            ),
            "invalid_request_error",
        ),
        (UpstreamTimeout("anthropic timed out", provider="anthropic"), "timeout_error"),
        (UpstreamUnavailable("all attempts failed", provider="anthropic"), "api_error"),
    ],
)
def test_error_body_types(error: GovernError, kind: str) -> None:
    body = msgspec.json.decode(error_body(error, "req_1"))
    assert body == {
        "type": "error",
        "error": {"type": kind, "message": error.message},
        "request_id": "req_1",
    }


@pytest.mark.parametrize(
    ("error", "sdk_class"),
    [
        (InvalidRequest("messages: at least one message is required"), anthropic.BadRequestError),
        (
            UpstreamStatusError("slow down", provider="anthropic", upstream_status=429),
            anthropic.RateLimitError,
        ),
        (
            UpstreamUnavailable("all attempts failed", provider="anthropic"),
            anthropic.InternalServerError,
        ),
    ],
)
async def test_error_bodies_raise_the_sdk_classes(
    replay: ReplayServer, error: GovernError, sdk_class: type[Exception]
) -> None:
    replay.reply = Reply(body=error_body(error), status=error.status)
    async with anthropic.AsyncAnthropic(api_key="k", base_url=replay.url, max_retries=0) as client:
        with pytest.raises(sdk_class, match=error.message):
            await client.messages.create(
                model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}]
            )


# --- round trips through the anthropic provider and the sim upstream ---------------------


async def relay(stream: ChatStream) -> AsyncIterator[ChatCompletionChunk]:
    """What the pipeline does: content chunks, then the usage chunk."""
    last = None
    async for chunk in stream:
        last = chunk
        yield chunk
    assert last is not None and stream.usage is not None
    yield ChatCompletionChunk(
        id=last.id,
        created=last.created,
        model=last.model,
        choices=[],
        usage=openai_usage(stream.usage),
    )


@pytest.fixture
async def sim_provider(sim_upstream: SimUpstreamThread) -> AsyncIterator[AnthropicProvider]:
    transport = AiohttpTransport()
    yield AnthropicProvider("anthropic", ProviderConfig(base_url=sim_upstream.url), transport)
    await transport.aclose()


CALL = Call("anthropic", "claude-sonnet-4-5", ProviderKey(value="sk-ant-test"))


async def test_stream_round_trip_through_provider_and_sim(
    replay: ReplayServer, sim_provider: AnthropicProvider
) -> None:
    inbound = decode_request(anthropic_request(system="be brief", max_tokens=6, stream=True))
    stream = await sim_provider.stream(to_openai_request(inbound), CALL)
    message = await read_with_sdk(replay, await sse_bytes(anthropic_sse(relay(stream))))
    whole = await sim_provider.chat(to_openai_request(inbound), CALL)
    assert message.content[0].type == "text"
    assert message.content[0].text == whole.completion.choices[0].message.content
    assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 6)
    assert message.stop_reason == "max_tokens"


async def test_tool_round_trip_through_provider_and_sim(sim_provider: AnthropicProvider) -> None:
    tools = [
        {
            "name": "get_weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    inbound = decode_request(anthropic_request(tools=tools, tool_choice={"type": "any"}))
    result = await sim_provider.chat(to_openai_request(inbound), CALL)
    message = to_anthropic_message(result.completion, result.usage)
    parsed = anthropic.types.Message.model_validate_json(msgspec.json.encode(message))
    [tool] = parsed.content
    assert tool.type == "tool_use" and tool.input == {"city": "sim"}
    assert parsed.stop_reason == "tool_use"
