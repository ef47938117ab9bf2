"""The simulated Anthropic upstream, driven by the official `anthropic` SDK.

If the SDK parses an answer (and raises its own exception classes for errors), the
simulated wire format is right.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import anthropic
import pytest

from govern.sim.server import Fault, SimSettings, SimUpstreamThread

MODEL = "claude-sonnet-4-5"
WEATHER: Any = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(sim_upstream: SimUpstreamThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=sim_upstream.url, max_retries=0)


@pytest.fixture
async def aclient(sim_upstream: SimUpstreamThread) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=sim_upstream.url, max_retries=0
    ) as client:
        yield client


@pytest.fixture(scope="module")
def keyed_sim() -> Iterator[SimUpstreamThread]:
    """A simulated upstream that accepts only the key `sk-ant-good`."""
    with SimUpstreamThread(SimSettings(api_keys={"sk-ant-good"})) as sim:
        yield sim


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def text(message: anthropic.types.Message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


# --- answers -----------------------------------------------------------------------------


def test_create_answers_exactly_max_tokens_words(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=12, messages=user("hello there"))
    assert len(text(message).split()) == 12
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 12
    assert message.role == "assistant" and message.model == MODEL


def test_input_tokens_count_system_and_messages(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=3,
        system=[{"type": "text", "text": "you are terse"}],
        messages=[
            {"role": "user", "content": "one two"},
            {"role": "assistant", "content": "three"},
            {"role": "user", "content": [{"type": "text", "text": "four five six"}]},
        ],
    )
    assert message.usage.input_tokens == 3 + 2 + 1 + 3


def test_same_request_same_answer(client: anthropic.Anthropic) -> None:
    first = client.messages.create(model=MODEL, max_tokens=6, messages=user("same question"))
    second = client.messages.create(model=MODEL, max_tokens=6, messages=user("same question"))
    assert text(first) == text(second)
    assert first.id != second.id


def test_stream_helper_yields_the_same_text(client: anthropic.Anthropic) -> None:
    whole = client.messages.create(model=MODEL, max_tokens=8, messages=user("stream me"))
    with client.messages.stream(model=MODEL, max_tokens=8, messages=user("stream me")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == text(whole) == text(final)
    assert len(pieces) == 8
    assert final.usage.input_tokens == 2 and final.usage.output_tokens == 8
    assert final.stop_reason == "max_tokens"


def test_raw_stream_event_order(client: anthropic.Anthropic) -> None:
    events = list(
        client.messages.create(model=MODEL, max_tokens=2, messages=user("hi"), stream=True)
    )
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_tool_choice_any_forces_a_tool_use(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=50,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=user("hello"),
    )
    [block] = message.content
    assert block.type == "tool_use"
    assert block.name == "get_weather"
    assert block.input == {"city": "sim", "days": 0}
    assert block.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"


def test_auto_tool_choice_calls_a_tool_named_by_the_user(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=5, tools=[WEATHER], messages=user("please get_weather now")
    )
    assert message.stop_reason == "tool_use"


def test_auto_tool_choice_answers_text_otherwise(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=5, tools=[WEATHER], messages=user("what is new")
    )
    assert message.stop_reason == "max_tokens"
    assert [b.type for b in message.content] == ["text"]


def test_streamed_tool_use_input_is_accumulated(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL,
        max_tokens=50,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=user("hello"),
    ) as stream:
        final = stream.get_final_message()
    [block] = final.content
    assert block.type == "tool_use" and block.input == {"city": "sim", "days": 0}
    assert final.stop_reason == "tool_use"


def test_tool_result_round_trip_is_accepted(client: anthropic.Anthropic) -> None:
    first = client.messages.create(
        model=MODEL,
        max_tokens=50,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=user("weather in Paris?"),
    )
    [call] = first.content
    assert call.type == "tool_use"
    follow_up = client.messages.create(
        model=MODEL,
        max_tokens=4,
        tools=[WEATHER],
        messages=[
            *user("weather in Paris?"),
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
            },
        ],
    )
    assert follow_up.stop_reason == "max_tokens"


def test_stop_sequence_cuts_the_answer(client: anthropic.Anthropic) -> None:
    full = text(client.messages.create(model=MODEL, max_tokens=10, messages=user("cut me")))
    stop = full.split()[4]
    message = client.messages.create(
        model=MODEL, max_tokens=10, stop_sequences=[stop], messages=user("cut me")
    )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == stop
    assert text(message) == " ".join(full.split()[:4])
    assert message.usage.output_tokens == 4


def test_structured_output_is_json_of_the_schema(client: anthropic.Anthropic) -> None:
    schema: Any = {"type": "object", "properties": {"summary": {"type": "string"}}}
    message = client.messages.create(
        model=MODEL,
        max_tokens=50,
        output_config={"format": {"type": "json_schema", "schema": schema}},
        messages=user("summarise"),
    )
    assert text(message) == '{"summary":"sim"}'
    assert message.stop_reason == "end_turn"


def test_prompt_cache_is_written_then_read(client: anthropic.Anthropic) -> None:
    prefix = f"long shared context {uuid.uuid4().hex}"
    system: Any = [
        {"type": "text", "text": prefix, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    first = client.messages.create(model=MODEL, max_tokens=1, system=system, messages=user("a b"))
    second = client.messages.create(model=MODEL, max_tokens=1, system=system, messages=user("c"))
    assert first.usage.cache_creation_input_tokens == 4
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 4
    assert (first.usage.input_tokens, first.usage.cache_read_input_tokens) == (2, 0)
    assert (second.usage.cache_read_input_tokens, second.usage.input_tokens) == (4, 1)
    assert second.usage.cache_creation_input_tokens == 0


def test_requests_are_recorded(
    client: anthropic.Anthropic, sim_upstream: SimUpstreamThread
) -> None:
    client.messages.create(model=MODEL, max_tokens=1, messages=user("record me"))
    [recorded] = list(sim_upstream.sim.requests)
    assert (recorded.protocol, recorded.path) == ("anthropic", "/v1/messages")
    assert '"record me"' in recorded.body


# --- async -------------------------------------------------------------------------------


async def test_async_create(aclient: anthropic.AsyncAnthropic) -> None:
    message = await aclient.messages.create(model=MODEL, max_tokens=4, messages=user("async"))
    assert len(text(message).split()) == 4
    assert message.usage.input_tokens == 1


async def test_async_stream(aclient: anthropic.AsyncAnthropic) -> None:
    async with aclient.messages.stream(model=MODEL, max_tokens=5, messages=user("go")) as stream:
        pieces = [piece async for piece in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == text(final)
    assert final.usage.output_tokens == 5


async def test_async_raw_stream(aclient: anthropic.AsyncAnthropic) -> None:
    stream = await aclient.messages.create(
        model=MODEL, max_tokens=3, messages=user("raw"), stream=True
    )
    types = [event.type async for event in stream]
    assert types[0] == "message_start" and types[-1] == "message_stop"


async def test_async_overloaded(
    aclient: anthropic.AsyncAnthropic, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=529, message="Overloaded"))
    with pytest.raises(anthropic.OverloadedError) as info:
        await aclient.messages.create(model=MODEL, max_tokens=4, messages=user("busy"))
    assert info.value.status_code == 529


# --- validation --------------------------------------------------------------------------


def test_wrong_key_is_401(keyed_sim: SimUpstreamThread) -> None:
    bad = anthropic.Anthropic(api_key="sk-ant-bad", base_url=keyed_sim.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(model=MODEL, max_tokens=1, messages=user("hi"))
    assert info.value.body["error"] == {  # type: ignore[index]
        "type": "authentication_error",
        "message": "invalid x-api-key",
    }


def test_x_api_key_header_is_accepted(keyed_sim: SimUpstreamThread) -> None:
    good = anthropic.Anthropic(
        api_key="sk-ant-unused",
        base_url=keyed_sim.url,
        max_retries=0,
        default_headers=cast(Any, {"x-api-key": "sk-ant-good", "Authorization": anthropic.omit}),
    )
    assert good.messages.create(model=MODEL, max_tokens=1, messages=user("hi")).content


def test_missing_key_is_401(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.AuthenticationError, match="x-api-key header is required"):
        client.messages.create(
            model=MODEL,
            max_tokens=1,
            messages=user("hi"),
            extra_headers={"Authorization": anthropic.omit},
        )


def test_missing_version_header_is_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="anthropic-version"):
        client.messages.create(
            model=MODEL,
            max_tokens=1,
            messages=user("hi"),
            extra_headers={"anthropic-version": anthropic.omit},
        )


def test_missing_max_tokens_is_400_naming_the_field(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.post("/v1/messages", cast_to=object, body={"model": MODEL, "messages": user("hi")})
    assert info.value.body["error"] == {  # type: ignore[index]
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([], "at least one message"),
        ([{"role": "assistant", "content": "hi"}], 'first message must use the "user" role'),
        ([{"role": "user", "content": ""}], "non-empty content"),
        ([{"role": "user", "content": [{"type": "text", "text": ""}]}], "must be non-empty"),
        (
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
                },
                {"role": "user", "content": "and?"},
            ],
            "`tool_use` ids were found without `tool_result` blocks",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}],
                }
            ],
            "unexpected `tool_use_id`",
        ),
    ],
)
def test_conversation_shape_is_validated(
    client: anthropic.Anthropic, messages: list[Any], expected: str
) -> None:
    with pytest.raises(anthropic.BadRequestError, match=expected):
        client.messages.create(model=MODEL, max_tokens=1, messages=messages)


def test_unknown_field_is_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="frequency_penalty: Extra inputs"):
        client.messages.create(
            model=MODEL, max_tokens=1, messages=user("hi"), extra_body={"frequency_penalty": 1}
        )


def test_temperature_above_one_is_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        client.messages.create(
            model=MODEL, max_tokens=1, messages=user("hi"), extra_body={"temperature": 1.5}
        )


# --- faults ------------------------------------------------------------------------------


def test_rate_limit_fault(client: anthropic.Anthropic, sim_upstream: SimUpstreamThread) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, message="rate limited", retry_after=2))
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model=MODEL, max_tokens=1, messages=user("hi"))
    assert info.value.response.headers["retry-after"] == "2"
    assert info.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_overloaded_fault(client: anthropic.Anthropic, sim_upstream: SimUpstreamThread) -> None:
    sim_upstream.sim.add_fault(Fault(status=529, message="Overloaded", times=1))
    with pytest.raises(anthropic.OverloadedError, match="Overloaded"):
        client.messages.create(model=MODEL, max_tokens=1, messages=user("hi"))
    assert client.messages.create(model=MODEL, max_tokens=1, messages=user("hi")).content


def test_cut_stream_fails_in_the_sdk(
    client: anthropic.Anthropic, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(cut_after=3))
    with (
        pytest.raises(Exception, match=r"incomplete|peer closed"),
        client.messages.stream(model=MODEL, max_tokens=20, messages=user("hi")) as stream,
    ):
        stream.get_final_message()


def test_malformed_stream_fails_in_the_sdk(
    client: anthropic.Anthropic, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True))
    with (
        pytest.raises(ValueError),
        client.messages.stream(model=MODEL, max_tokens=20, messages=user("hi")) as stream,
    ):
        stream.get_final_message()


def test_malformed_response_fails_in_the_sdk(
    client: anthropic.Anthropic, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True))
    with pytest.raises(ValueError, match="Unterminated string"):
        client.messages.create(model=MODEL, max_tokens=1, messages=user("hi"))
