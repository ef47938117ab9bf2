"""The official `openai` client drives the gateway's `/v1` routes on the in-process sim."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from govern.server.embedded import EmbeddedServer


def client(server: EmbeddedServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def aclient(server: EmbeddedServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_completion_counts_words_exactly(sim_gateway: EmbeddedServer) -> None:
    response = client(sim_gateway).chat.completions.with_raw_response.create(
        model="sim/gpt-4o-mini",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "what does the gateway do"},
        ],
        max_tokens=7,
    )
    completion = response.parse()
    # prompt: "be brief" (2 words) + "what does the gateway do" (5 words) = 7 tokens
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 7
    assert completion.usage.completion_tokens == 7
    assert completion.usage.total_tokens == 14
    assert len((completion.choices[0].message.content or "").split()) == 7
    assert completion.choices[0].finish_reason == "length"
    assert response.headers["x-govern-request-id"].startswith("req_")
    assert response.headers["x-govern-model"] == "sim/gpt-4o-mini"


def test_bare_model_name_resolves_through_models_list(sim_gateway: EmbeddedServer) -> None:
    response = client(sim_gateway).chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert response.headers["x-govern-model"] == "sim/claude-sonnet-4-5"
    # no limit given: the sim's documented default of 16 words, finish "stop"
    completion = response.parse()
    assert completion.usage is not None and completion.usage.completion_tokens == 16
    assert completion.choices[0].finish_reason == "stop"


def test_same_request_same_answer(sim_gateway: EmbeddedServer) -> None:
    c = client(sim_gateway)
    ask = {"model": "sim/gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    first = c.chat.completions.create(**ask)  # type: ignore[call-overload]
    second = c.chat.completions.create(**ask)  # type: ignore[call-overload]
    assert first.choices[0].message.content == second.choices[0].message.content


def test_n_choices_and_stop_sequence(sim_gateway: EmbeddedServer) -> None:
    c = client(sim_gateway)
    many = c.chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "x"}],
        n=3,
        max_tokens=4,
    )
    assert [ch.index for ch in many.choices] == [0, 1, 2]
    assert many.usage is not None and many.usage.completion_tokens == 12
    full = many.choices[0].message.content or ""
    stop_word = full.split()[2]
    cut = c.chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "x"}],
        max_tokens=4,
        stop=[stop_word],
    )
    assert cut.choices[0].finish_reason == "stop"
    assert (cut.choices[0].message.content or "").split() == full.split()[:2]


def test_forced_tool_call(sim_gateway: EmbeddedServer) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                    "required": ["city"],
                },
            },
        }
    ]
    completion = client(sim_gateway).chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=tools,  # type: ignore[arg-type]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "sim", "days": 0}  # type: ignore[union-attr]


def test_tool_result_round_trip(sim_gateway: EmbeddedServer) -> None:
    completion = client(sim_gateway).chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny 21C"},
        ],
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
        max_tokens=3,
    )
    assert completion.choices[0].message.tool_calls is None
    # words: 3 + ("get_weather" + '{"city":' + '"Paris"}') 3 + 2 = 8
    assert completion.usage is not None and completion.usage.prompt_tokens == 8


def test_json_schema_response_format(sim_gateway: EmbeddedServer) -> None:
    completion = client(sim_gateway).chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "a person"}],
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "person",
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                },
            },
        },
    )
    assert json.loads(completion.choices[0].message.content or "") == {"name": "sim", "age": 0}


def test_image_parts_and_extra_fields_are_accepted(sim_gateway: EmbeddedServer) -> None:
    completion = client(sim_gateway).chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "describe this"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                    },
                ],
            }
        ],
        max_completion_tokens=2,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        user="alice",
        extra_body={"some_vendor_flag": True},
    )
    # the image counts 0 tokens in the sim's tokenizer
    assert completion.usage is not None and completion.usage.prompt_tokens == 2
    assert completion.usage.completion_tokens == 2


def test_stream_without_usage_chunk(sim_gateway: EmbeddedServer) -> None:
    stream = client(sim_gateway).chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=5,
        stream=True,
    )
    chunks = list(stream)
    assert all(c.usage is None for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 5
    assert chunks[-1].choices[0].finish_reason == "length"


def test_stream_with_usage_chunk(sim_gateway: EmbeddedServer) -> None:
    stream = client(sim_gateway).chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "one two three"}],
        max_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (3, 5)


async def test_async_client_streaming_and_not(sim_gateway: EmbeddedServer) -> None:
    c = aclient(sim_gateway)
    completion = await c.chat.completions.create(
        model="sim/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=3
    )
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    stream = await c.chat.completions.create(
        model="sim/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=3,
        stream=True,
    )
    words = [c.choices[0].delta.content async for c in stream if c.choices]
    assert len("".join(w or "" for w in words).split()) == 3
    await c.close()


def test_embeddings_and_models(sim_gateway: EmbeddedServer) -> None:
    c = client(sim_gateway)
    result = c.embeddings.create(model="sim/gpt-4o-mini", input=["a b", "c"])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 64
    assert result.usage.prompt_tokens == 3
    ids = [m.id for m in c.models.list()]
    assert ids == ["sim/gpt-4o-mini", "sim/claude-sonnet-4-5"]


def test_health(sim_gateway: EmbeddedServer) -> None:
    response = httpx.get(f"{sim_gateway.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "providers": ["sim"]}
    assert response.headers["x-govern-request-id"].startswith("req_")


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/nope"])
def test_every_response_has_a_request_id(sim_gateway: EmbeddedServer, path: str) -> None:
    response = httpx.get(f"{sim_gateway.url}{path}")
    assert response.status_code in (404, 405)
    assert response.headers["x-govern-request-id"].startswith("req_")
    assert set(response.json()["error"]) == {"message", "type", "code", "param"}
