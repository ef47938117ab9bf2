"""The bedrock provider against the simulated Bedrock runtime, and its translations
against recorded Converse payloads."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from multidict import CIMultiDict

from govern.config import ProviderConfig, ProviderKey
from govern.errors import (
    ConfigError,
    InvalidRequest,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from govern.providers import bedrock_wire as bw
from govern.providers.base import Call
from govern.providers.bedrock import BedrockProvider, status_error
from govern.providers.bedrock_translate import (
    StreamTranslator,
    completion_from_converse,
    split_region_prefix,
)
from govern.sim.server import Fault, SimUpstreamThread
from govern.transport import Transport, make_transport
from govern.usage import Usage
from govern.wire.openai import ChatCompletionChunk, ChatCompletionRequest, EmbeddingRequest
from tests.conftest import FIXTURES, SIM_AWS_KEY_ID, SIM_AWS_SECRET

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROFILE_MODEL = "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
SIM_KEY = ProviderKey(
    name="sim", aws_access_key_id=SIM_AWS_KEY_ID, aws_secret_access_key=SIM_AWS_SECRET
)


def chat_request(**fields: Any) -> ChatCompletionRequest:
    body = {"model": "bedrock/x", "messages": [{"role": "user", "content": "hello there"}]}
    body.update(fields)
    return msgspec.json.decode(msgspec.json.encode(body), type=ChatCompletionRequest)


def call(model: str = MODEL, key: ProviderKey = SIM_KEY, **extra: msgspec.Raw) -> Call:
    return Call(provider="bedrock", model=model, key=key, extra_body=dict(extra))


def sent_body(sim: SimUpstreamThread) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.json.decode(sim.sim.requests[-1].body)
    return body


def fixture(name: str) -> bytes:
    return (FIXTURES / "bedrock" / name).read_bytes()


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    t = make_transport("aiohttp")
    yield t
    await t.aclose()


@pytest.fixture
def provider(sim_upstream: SimUpstreamThread, transport: Transport) -> BedrockProvider:
    return BedrockProvider(
        "bedrock", ProviderConfig(base_url=sim_upstream.url, default_max_tokens=9), transport
    )


async def collect(stream: Any) -> list[ChatCompletionChunk]:
    return [chunk async for chunk in stream]


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks)


# --- chat ------------------------------------------------------------------------------


async def test_chat_answers_max_tokens_words(provider: BedrockProvider) -> None:
    result = await provider.chat(chat_request(max_tokens=5), call())
    choice = result.completion.choices[0]
    assert choice.message.content is not None
    assert len(choice.message.content.split()) == 5
    assert choice.finish_reason == "length"
    assert result.usage == Usage(input_tokens=2, output_tokens=5)
    assert result.completion.model == MODEL


async def test_chat_sends_default_max_tokens_when_client_sets_none(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    result = await provider.chat(chat_request(), call())
    assert sent_body(sim_upstream)["inferenceConfig"] == {"maxTokens": 9}
    assert result.usage.output_tokens == 9


async def test_chat_translates_system_stop_and_sampling(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    await provider.chat(
        chat_request(
            messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            max_completion_tokens=3,
            temperature=0.5,
            top_p=0.9,
            stop="END",
        ),
        call(),
    )
    body = sent_body(sim_upstream)
    assert body["system"] == [{"text": "be brief"}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]
    assert body["inferenceConfig"] == {
        "maxTokens": 3,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["END"],
    }


async def test_chat_maps_a_stop_sequence_to_stop(provider: BedrockProvider) -> None:
    full = await provider.chat(chat_request(max_tokens=6), call())
    assert full.completion.choices[0].message.content is not None
    third = full.completion.choices[0].message.content.split()[2]
    cut = await provider.chat(chat_request(max_tokens=6, stop=[" " + third]), call())
    assert cut.completion.choices[0].finish_reason == "stop"
    assert cut.usage.output_tokens == 2


async def test_unknown_fields_and_fallbacks_are_not_sent(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="govern.providers")
    await provider.chat(
        chat_request(fallbacks=["openai/gpt-4o"], seed=7, max_tokens=2),
        call(top_k=msgspec.Raw(b"5")),
    )
    body = sent_body(sim_upstream)
    assert set(body) == {"messages", "inferenceConfig"}
    assert "top_k" in caplog.text
    assert "seed" in caplog.text


async def test_chat_forced_tool_call(provider: BedrockProvider) -> None:
    result = await provider.chat(chat_request(tools=[WEATHER], tool_choice="required"), call())
    choice = result.completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    (tool_call,) = choice.message.tool_calls
    assert tool_call.function.name == "get_weather"
    assert msgspec.json.decode(tool_call.function.arguments) == {"city": "sim"}
    assert tool_call.id.startswith("tooluse_")


async def test_tool_choice_maps_to_converse_tool_choice(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    await provider.chat(
        chat_request(
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
        call(),
    )
    tool_config = sent_body(sim_upstream)["toolConfig"]
    assert tool_config["toolChoice"] == {"tool": {"name": "get_weather"}}
    assert tool_config["tools"] == [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Weather in a city",
                "inputSchema": {"json": WEATHER["function"]["parameters"]},
            }
        }
    ]  # type: ignore[index]


async def test_tool_history_is_merged_into_alternating_turns(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    messages = [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "tooluse_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "tooluse_b",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "tooluse_a", "content": "21 C"},
        {"role": "tool", "tool_call_id": "tooluse_b", "content": "25 C"},
        {"role": "user", "content": "which is warmer"},
    ]
    result = await provider.chat(
        chat_request(messages=messages, tools=[WEATHER], max_tokens=3), call()
    )
    assert result.completion.choices[0].finish_reason == "length"
    turns = sent_body(sim_upstream)["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == [
        {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather", "input": {"city": "Paris"}}},
        {"toolUse": {"toolUseId": "tooluse_b", "name": "get_weather", "input": {"city": "Rome"}}},
    ]
    assert turns[2]["content"] == [
        {"toolResult": {"toolUseId": "tooluse_a", "content": [{"text": "21 C"}]}},
        {"toolResult": {"toolUseId": "tooluse_b", "content": [{"text": "25 C"}]}},
        {"text": "which is warmer"},
    ]


async def test_invalid_tool_arguments_name_the_field(provider: BedrockProvider) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
            ],
        },
    ]
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(chat_request(messages=messages, tools=[WEATHER]), call())
    assert info.value.param == "messages[1].tool_calls[0].function.arguments"


async def test_data_url_image_becomes_an_image_block(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,iVBORw0KGgo="}},
            ],
        }
    ]
    await provider.chat(chat_request(messages=messages, max_tokens=2), call())
    content = sent_body(sim_upstream)["messages"][0]["content"]
    assert content[1] == {"image": {"format": "jpeg", "source": {"bytes": "iVBORw0KGgo="}}}


async def test_http_image_url_is_unsupported(provider: BedrockProvider) -> None:
    messages = [
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}],
        }
    ]
    with pytest.raises(UpstreamStatusError) as info:
        await provider.chat(chat_request(messages=messages), call())
    assert info.value.status == 400
    assert "data:" in info.value.message


async def test_more_than_one_choice_is_unsupported(provider: BedrockProvider) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await provider.chat(chat_request(n=2), call())
    assert info.value.status == 400
    assert "n > 1" in info.value.message


async def test_embeddings_are_unsupported(provider: BedrockProvider) -> None:
    request = EmbeddingRequest(model="amazon.titan-embed-text-v2:0", input="hi")
    with pytest.raises(UpstreamStatusError) as info:
        await provider.embed(request, call())
    assert info.value.status == 400
    assert "embeddings" in info.value.message


# --- stream ----------------------------------------------------------------------------


async def test_stream_matches_chat(provider: BedrockProvider) -> None:
    request = chat_request(max_tokens=6)
    whole = await provider.chat(request, call())
    stream = await provider.stream(request, call())
    chunks = await collect(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert text_of(chunks) == whole.completion.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "length"
    assert stream.usage == whole.usage


async def test_stream_assembles_tool_call(provider: BedrockProvider) -> None:
    stream = await provider.stream(chat_request(tools=[WEATHER], tool_choice="required"), call())
    chunks = await collect(stream)
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].id is not None and deltas[0].id.startswith("tooluse_")
    assert deltas[0].function is not None and deltas[0].function.name == "get_weather"
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert msgspec.json.decode(arguments) == {"city": "sim"}
    assert {d.index for d in deltas} == {0}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_cut_stream_raises(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(cut_after=3, times=1))
    stream = await provider.stream(chat_request(max_tokens=8), call())
    received: list[ChatCompletionChunk] = []
    with pytest.raises(UpstreamUnavailable):
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 3
    assert stream.usage is None


async def test_malformed_stream_raises(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True, times=1))
    stream = await provider.stream(chat_request(max_tokens=8), call())
    with pytest.raises(UpstreamUnavailable) as info:
        await collect(stream)
    assert "checksum" in info.value.message


async def test_exception_event_raises_status_error(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, cut_after=2, message="Too many tokens", times=1))
    stream = await provider.stream(chat_request(max_tokens=8), call())
    with pytest.raises(UpstreamStatusError) as info:
        await collect(stream)
    assert info.value.upstream_status == 429
    assert info.value.retryable
    assert info.value.code == "ThrottlingException"
    assert "Too many tokens" in info.value.message


async def test_stream_error_status_raises_before_iteration(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=503, message="Bedrock is busy", times=1))
    with pytest.raises(UpstreamStatusError) as info:
        await provider.stream(chat_request(), call())
    assert info.value.upstream_status == 503
    assert info.value.message == "Bedrock is busy"


# --- model ids and signing ---------------------------------------------------------------


@pytest.mark.parametrize("transport_name", ["aiohttp", "httpx"])
async def test_region_prefixed_model_id_passes_through_signed(
    sim_upstream: SimUpstreamThread, transport_name: str
) -> None:
    t = make_transport(transport_name)
    try:
        provider = BedrockProvider("bedrock", ProviderConfig(base_url=sim_upstream.url), t)
        result = await provider.chat(chat_request(max_tokens=2), call(model=PROFILE_MODEL))
    finally:
        await t.aclose()
    assert result.completion.model == PROFILE_MODEL
    assert sim_upstream.sim.requests[-1].path == f"/model/{PROFILE_MODEL}/converse"


async def test_inference_profile_arn_keeps_its_slash_in_one_segment(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{PROFILE_MODEL}"
    await provider.chat(chat_request(max_tokens=2), call(model=arn))
    recorded = sim_upstream.sim.requests[-1]
    assert recorded.path == f"/model/{arn}/converse"


async def test_key_region_is_the_signing_region(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    key = ProviderKey(
        name="eu",
        aws_access_key_id=SIM_AWS_KEY_ID,
        aws_secret_access_key=SIM_AWS_SECRET,
        region="eu-west-3",
    )
    await provider.chat(chat_request(max_tokens=1), call(key=key))
    authorization = sim_upstream.sim.requests[-1].headers["Authorization"]
    assert "/eu-west-3/bedrock/aws4_request" in authorization


async def test_default_credential_chain_signs_without_key_credentials(
    sim_upstream: SimUpstreamThread,
    transport: Transport,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SIM_AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SIM_AWS_SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    provider = BedrockProvider("bedrock", ProviderConfig(base_url=sim_upstream.url), transport)
    result = await provider.chat(chat_request(max_tokens=2), call(key=ProviderKey(name="aws")))
    assert result.usage.output_tokens == 2


async def test_no_credentials_anywhere_is_a_clear_error(
    sim_upstream: SimUpstreamThread,
    transport: Transport,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    provider = BedrockProvider("bedrock", ProviderConfig(base_url=sim_upstream.url), transport)
    with pytest.raises(UpstreamStatusError) as info:
        await provider.chat(chat_request(), call(key=ProviderKey(name="aws")))
    assert info.value.status == 403
    assert "no AWS credentials for key 'aws'" in info.value.message
    assert len(sim_upstream.sim.requests) == 0


def test_split_region_prefix() -> None:
    assert split_region_prefix(PROFILE_MODEL) == ("us", MODEL)
    assert split_region_prefix("global.anthropic.claude-sonnet-4-5-20250929-v1:0") == (
        "global",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
    )
    assert split_region_prefix("apac.amazon.nova-pro-v1:0") == ("apac", "amazon.nova-pro-v1:0")
    assert split_region_prefix(MODEL) == (None, MODEL)
    assert split_region_prefix("amazon.titan-text-express-v1") == (
        None,
        "amazon.titan-text-express-v1",
    )


# --- errors and secrets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "ValidationException", False),
        (403, "AccessDeniedException", False),
        (404, "ResourceNotFoundException", False),
        (429, "ThrottlingException", True),
        (500, "InternalServerException", True),
        (503, "ServiceUnavailableException", True),
    ],
)
async def test_error_status_maps_to_upstream_status_error(
    provider: BedrockProvider,
    sim_upstream: SimUpstreamThread,
    status: int,
    code: str,
    retryable: bool,
) -> None:
    sim_upstream.sim.add_fault(Fault(status=status, message=f"aws says {status}", times=1))
    with pytest.raises(UpstreamStatusError) as info:
        await provider.chat(chat_request(), call())
    error = info.value
    assert (error.upstream_status, error.code, error.retryable) == (status, code, retryable)
    assert error.message == f"aws says {status}"


async def test_retry_after_is_read(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, retry_after=3, times=1))
    with pytest.raises(UpstreamStatusError) as info:
        await provider.chat(chat_request(), call())
    assert info.value.retry_after == 3


async def test_upstream_validation_message_passes_through(provider: BedrockProvider) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await provider.chat(chat_request(temperature=1.7), call())
    assert info.value.status == 400
    assert "'inferenceConfig.temperature' failed to satisfy constraint" in info.value.message


def test_recorded_throttling_error_maps_to_429() -> None:
    recorded = msgspec.json.decode(fixture("error_throttling.json"))
    error = status_error(
        "bedrock",
        recorded["status"],
        CIMultiDict(recorded["headers"]),
        msgspec.json.encode(recorded["body"]),
        [],
    )
    assert error.upstream_status == 429
    assert error.code == "ThrottlingException"
    assert error.message == "Too many requests, please wait before trying again."


async def test_malformed_body_is_upstream_unavailable(
    provider: BedrockProvider, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True, times=1))
    with pytest.raises(UpstreamUnavailable):
        await provider.chat(chat_request(), call())


async def test_hung_upstream_times_out(
    sim_upstream: SimUpstreamThread, transport: Transport
) -> None:
    provider = BedrockProvider(
        "bedrock", ProviderConfig(base_url=sim_upstream.url, timeout=0.3), transport
    )
    sim_upstream.sim.add_fault(Fault(hang=True, times=1))
    with pytest.raises(UpstreamTimeout):
        await provider.stream(chat_request(), call())


async def test_wrong_secret_error_never_shows_secrets(
    provider: BedrockProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = ProviderKey(
        name="bad",
        aws_access_key_id=SIM_AWS_KEY_ID,
        aws_secret_access_key="wrong-secret-value",
        aws_session_token=SESSION_TOKEN,
    )
    with pytest.raises(UpstreamStatusError) as info:
        await provider.chat(chat_request(), call(key=key))
    error = info.value
    assert (error.status, error.code) == (403, "InvalidSignatureException")
    assert error.message.startswith("The request signature we calculated does not match")
    # The sim, like AWS, echoes the canonical request, signed session token included.
    assert "x-amz-security-token:***" in caplog.text
    for text in (error.message, str(error), caplog.text):
        assert SESSION_TOKEN not in text
        assert "wrong-secret-value" not in text


def test_missing_botocore_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, transport: Transport
) -> None:
    monkeypatch.setitem(sys.modules, "botocore.auth", None)
    with pytest.raises(ConfigError) as info:
        BedrockProvider("bedrock", ProviderConfig(), transport)
    assert "pip install 'govern[bedrock]'" in info.value.message


# --- recorded payloads -------------------------------------------------------------------


def test_recorded_cache_usage_is_normalised() -> None:
    response = msgspec.json.decode(
        fixture("converse_response_cache.json"), type=bw.ConverseResponse
    )
    completion, usage = completion_from_converse(response, model=MODEL, response_id="r1")
    assert usage == Usage(
        input_tokens=14 + 2048 + 1288,
        cache_read_tokens=2048,
        cache_write_5m_tokens=1288,
        output_tokens=21,
    )
    assert usage.total_tokens == response.usage.total_tokens
    assert completion.choices[0].finish_reason == "stop"


def test_recorded_tool_use_response_becomes_tool_calls() -> None:
    response = msgspec.json.decode(
        fixture("converse_response_tool_use.json"), type=bw.ConverseResponse
    )
    completion, _ = completion_from_converse(response, model=MODEL, response_id="r1")
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "I'll look up the most popular song on WZPZ."
    assert choice.message.tool_calls is not None
    (tool_call,) = choice.message.tool_calls
    assert tool_call.id == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
    assert msgspec.json.decode(tool_call.function.arguments) == {"sign": "WZPZ"}


def test_recorded_stream_metadata_count_spelling_is_normalised() -> None:
    translator = StreamTranslator(provider="bedrock", model=MODEL, response_id="r1")
    chunk = translator.event("metadata", fixture("stream_metadata_count_spelling.json"))
    assert chunk is None
    assert translator.usage == Usage(
        input_tokens=9 + 1500 + 100,
        cache_read_tokens=1500,
        cache_write_5m_tokens=100,
        output_tokens=112,
    )


def test_recorded_stream_tool_use_events_become_chunks() -> None:
    translator = StreamTranslator(provider="bedrock", model=MODEL, response_id="r1")
    events = msgspec.json.decode(fixture("stream_tool_use_events.json"))
    chunks = [
        c
        for name, payload in events
        if (c := translator.event(name, msgspec.json.encode(payload))) is not None
    ]
    assert text_of(chunks) == "Let me check that station."
    calls = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "tooluse_Qm3A4jrwQXG1ouE6PIKEgw"
    assert {d.index for d in calls} == {0}
    assert "".join(d.function.arguments or "" for d in calls if d.function) == ('{"sign": "WZPZ"}')
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert translator.finished
    assert translator.usage == Usage(input_tokens=375, output_tokens=67)
