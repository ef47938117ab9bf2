"""The simulated OpenAI upstream, checked with the official `openai` SDK: if the SDK
parses every answer and raises its own exception for every error, the wire is right."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from govern.sim.server import Fault, SimUpstreamThread

KEY = "sk-sim-test-key-0123456789"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "what does the gateway do"}]
PROMPT_TOKENS = 5
WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        },
    },
}
TIME: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}


@pytest.fixture
def client(sim_upstream: SimUpstreamThread) -> Iterator[openai.OpenAI]:
    """The official sync client on the simulated upstream, without retries."""
    with openai.OpenAI(api_key=KEY, base_url=sim_upstream.url + "/v1", max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(sim_upstream: SimUpstreamThread) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official async client on the simulated upstream, without retries."""
    c = openai.AsyncOpenAI(api_key=KEY, base_url=sim_upstream.url + "/v1", max_retries=0)
    yield c
    await c.close()


# --- completions -------------------------------------------------------------------------


def test_completion_has_exactly_max_tokens_words(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=7)
    assert answer.object == "chat.completion"
    assert answer.model == "gpt-4o-mini"
    assert len((answer.choices[0].message.content or "").split()) == 7
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None
    assert (
        answer.usage.prompt_tokens,
        answer.usage.completion_tokens,
        answer.usage.total_tokens,
    ) == (PROMPT_TOKENS, 7, PROMPT_TOKENS + 7)
    assert answer.usage.prompt_tokens_details is not None
    assert answer.usage.prompt_tokens_details.cached_tokens == 0


def test_completion_without_limit_uses_the_default_and_stops(
    client: openai.OpenAI, sim_upstream: SimUpstreamThread
) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    words = (answer.choices[0].message.content or "").split()
    assert len(words) == sim_upstream.sim.settings.default_output_tokens
    assert answer.choices[0].finish_reason == "stop"


async def test_async_completion(aclient: openai.AsyncOpenAI) -> None:
    answer = await aclient.chat.completions.create(
        model="gpt-4o", messages=USER, max_completion_tokens=3
    )
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 3


def test_same_request_gets_the_same_answer(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=5)
    second = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=5)
    assert first.choices[0].message.content == second.choices[0].message.content


def test_n_choices(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=4, n=2)
    assert [c.index for c in answer.choices] == [0, 1]
    assert answer.choices[0].message.content != answer.choices[1].message.content
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 8


def test_stop_sequence_cuts_the_answer(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=6)
    words = (full.choices[0].message.content or "").split()
    cut = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, max_tokens=6, stop=[words[3]]
    )
    assert (cut.choices[0].message.content or "").split() == words[:3]
    assert cut.choices[0].finish_reason == "stop"


def test_required_tool_choice_calls_a_tool(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=[WEATHER], tool_choice="required"
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "sim", "days": 0}


def test_named_tool_choice_calls_that_tool(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert answer.choices[0].message.tool_calls is not None
    call = answer.choices[0].message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_time"


def test_tool_result_turn_is_answered(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=[WEATHER], tool_choice="required"
    )
    message = first.choices[0].message
    assert message.tool_calls is not None
    history: list[Any] = [
        *USER,
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "sunny"},
    ]
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=history, tools=[WEATHER], max_tokens=3
    )
    assert answer.choices[0].finish_reason == "length"
    assert len((answer.choices[0].message.content or "").split()) == 3


def test_json_schema_response_format(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "city",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "people": {"type": "integer"}},
                },
            },
        },
    )
    assert json.loads(answer.choices[0].message.content or "") == {"name": "sim", "people": 0}


# --- streams -----------------------------------------------------------------------------


def test_stream_without_include_usage_has_no_usage(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=5)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, max_tokens=5, stream=True
        )
    )
    assert all(c.usage is None and len(c.choices) == 1 for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == (
        whole.choices[0].message.content
    )
    assert chunks[-1].choices[0].finish_reason == "length"


def test_stream_with_include_usage_ends_with_a_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=USER,
            max_tokens=4,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    *content, last = chunks
    assert all(c.usage is None and c.choices for c in content)
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (PROMPT_TOKENS, 4)


def test_stream_wire_has_usage_null_only_when_asked(sim_upstream: SimUpstreamThread) -> None:
    def events(include_usage: bool) -> list[str]:
        body: dict[str, Any] = {
            "model": "gpt-4o-mini",
            "messages": USER,
            "max_tokens": 2,
            "stream": True,
        }
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        response = httpx.post(
            sim_upstream.url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]

    asked, plain = events(True), events(False)
    assert asked[-1] == plain[-1] == "[DONE]"
    assert all(json.loads(e)["usage"] is None for e in asked[:-2])
    assert all("usage" not in json.loads(e) for e in plain[:-1])


async def test_async_stream_with_usage(aclient: openai.AsyncOpenAI) -> None:
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        max_tokens=3,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [c async for c in stream]
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 3
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


def test_stream_of_a_tool_call(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=USER,
            tools=[WEATHER],
            tool_choice="required",
            stream=True,
        )
    )
    calls = [tc for c in chunks for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# --- embeddings and models ---------------------------------------------------------------


def test_embeddings_in_the_sdk_default_base64(client: openai.OpenAI) -> None:
    answer = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    assert [len(e.embedding) for e in answer.data] == [64, 64]
    assert abs(sum(v * v for v in answer.data[0].embedding) - 1) < 1e-5
    assert answer.usage.prompt_tokens == 3


def test_embeddings_as_floats_match_base64(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(
        model="text-embedding-3-small", input="a b", encoding_format="float", dimensions=8
    )
    packed = client.embeddings.create(model="text-embedding-3-small", input="a b", dimensions=8)
    assert floats.data[0].embedding == pytest.approx(packed.data[0].embedding, abs=1e-6)


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids
    assert "text-embedding-3-small" in ids


# --- errors ------------------------------------------------------------------------------


@pytest.fixture
def restricted_keys(sim_upstream: SimUpstreamThread) -> Iterator[None]:
    """The simulated upstream accepts only KEY."""
    sim_upstream.sim.settings.api_keys = {KEY}
    yield
    sim_upstream.sim.settings.api_keys = None


def test_wrong_key_is_401_invalid_api_key(
    sim_upstream: SimUpstreamThread, restricted_keys: None
) -> None:
    wrong = "sk-wrong-key-abcdefghijkl"
    with (
        openai.OpenAI(api_key=wrong, base_url=sim_upstream.url + "/v1", max_retries=0) as c,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        c.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert caught.value.code == "invalid_api_key"
    assert "Incorrect API key provided: sk-******************ijkl." in caught.value.message
    assert wrong not in caught.value.message


def test_missing_key_is_401(sim_upstream: SimUpstreamThread) -> None:
    response = httpx.post(
        sim_upstream.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": USER}
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You didn't provide an API key.")


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "user"}]},
            "Missing required parameter: 'messages[0].content'.",
            "messages[0].content",
        ),
        (
            {"model": "gpt-4o-mini", "messages": "hello"},
            "Invalid type for 'messages': expected an array, but got a string instead.",
            "messages",
        ),
        (
            {"model": "gpt-4o-mini", "messages": []},
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
            "empty array instead.",
            "messages",
        ),
        (
            {"model": "gpt-4o-mini", "messages": USER, "n": 0},
            "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
            "n",
        ),
        (
            {"model": "gpt-4o-mini", "messages": USER, "stream_options": {"include_usage": True}},
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        ),
        (
            {"model": "gpt-4o-mini", "messages": USER, "tool_choice": "required"},
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            "tool_choice",
        ),
        (
            {
                "model": "gpt-4o-mini",
                "messages": [*USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}],
            },
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
            "message with 'tool_calls'.",
            "messages.[1].role",
        ),
    ],
    ids=[
        "missing-field",
        "wrong-type",
        "empty-messages",
        "n-range",
        "stream-options",
        "tool-choice",
        "orphan-tool-message",
    ],
)
def test_invalid_request_is_400_naming_the_field(
    client: openai.OpenAI, body: dict[str, Any], message: str, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/chat/completions", body=body, cast_to=object)
    assert caught.value.message == f"Error code: 400 - {message}"
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"


def test_unknown_argument_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(
        openai.BadRequestError, match="Unrecognized request argument supplied: fallbacks"
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, extra_body={"fallbacks": ["x"]}
        )


def test_body_that_is_not_json_is_400(client: openai.OpenAI) -> None:
    response = httpx.post(
        f"{client.base_url}chat/completions",
        content=b"{not json",
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        "We could not parse the JSON body of your request."
    )


def test_rate_limit_fault_raises_rate_limit_error(
    client: openai.OpenAI, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, message="Rate limit reached", retry_after=3))
    with pytest.raises(openai.RateLimitError, match="Rate limit reached") as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "3"


def test_server_error_fault_raises_internal_server_error(
    client: openai.OpenAI, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=500, message="The server had an error"))
    with pytest.raises(openai.InternalServerError, match="The server had an error") as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert caught.value.type == "server_error"


async def test_async_client_raises_the_same_errors(
    aclient: openai.AsyncOpenAI, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, message="slow down", model="gpt-4o"))
    with pytest.raises(openai.RateLimitError, match="slow down"):
        await aclient.chat.completions.create(model="gpt-4o", messages=USER)


def test_cut_off_stream_is_a_connection_error(
    client: openai.OpenAI, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(cut_after=2))
    seen = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, max_tokens=10, stream=True
        ):
            seen.append(chunk)
    assert len(seen) == 2


def test_malformed_stream_fails_to_parse(
    client: openai.OpenAI, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True))
    with pytest.raises(json.JSONDecodeError):
        list(client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))


# --- Azure OpenAI ------------------------------------------------------------------------


@pytest.fixture
def azure(sim_upstream: SimUpstreamThread) -> Iterator[openai.AzureOpenAI]:
    """The official Azure client on the simulated upstream's Azure routes."""
    with openai.AzureOpenAI(
        api_key=KEY, api_version="2024-10-21", azure_endpoint=sim_upstream.url, max_retries=0
    ) as c:
        yield c


def test_azure_completion(azure: openai.AzureOpenAI, sim_upstream: SimUpstreamThread) -> None:
    answer = azure.chat.completions.create(model="prod-4o-mini", messages=USER, max_tokens=3)
    assert answer.model == "prod-4o-mini"
    assert len((answer.choices[0].message.content or "").split()) == 3
    recorded = sim_upstream.sim.requests[-1]
    assert recorded.path == "/openai/deployments/prod-4o-mini/chat/completions"
    assert recorded.headers["api-key"] == KEY


def test_azure_stream_opens_with_the_prompt_filter_event(azure: openai.AzureOpenAI) -> None:
    chunks = list(
        azure.chat.completions.create(
            model="prod-4o-mini",
            messages=USER,
            max_tokens=2,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices == []
    assert chunks[0].model == ""
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 2
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 2


def test_azure_embeddings(azure: openai.AzureOpenAI) -> None:
    answer = azure.embeddings.create(model="embed-small", input="a b c")
    assert len(answer.data[0].embedding) == 64


def test_azure_wrong_key_is_401(sim_upstream: SimUpstreamThread, restricted_keys: None) -> None:
    with (
        openai.AzureOpenAI(
            api_key="wrong",
            api_version="2024-10-21",
            azure_endpoint=sim_upstream.url,
            max_retries=0,
        ) as c,
        pytest.raises(openai.AuthenticationError, match="Access denied"),
    ):
        c.chat.completions.create(model="prod-4o-mini", messages=USER)


def test_azure_without_api_version_is_404(sim_upstream: SimUpstreamThread) -> None:
    response = httpx.post(
        sim_upstream.url + "/openai/deployments/prod-4o-mini/chat/completions",
        json={"model": "x", "messages": USER},
        headers={"api-key": KEY},
    )
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "404", "message": "Resource not found"}}
