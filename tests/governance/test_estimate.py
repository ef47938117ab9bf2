"""The worst-case estimate: exact for the sim model, an upper bound for the others."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from govern.catalog import LongContextTier, Price, TokenRates
from govern.governance.estimate import (
    FILE_TOKENS,
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    REQUEST_OVERHEAD,
    TOOL_OVERHEAD,
    TokenEstimate,
    estimate_chat,
    estimate_cost_nanos,
    estimate_embedding,
    input_bound,
)
from govern.providers.sim import completion
from govern.sim.inputs import openai_prompt
from govern.wire.openai import ChatCompletionRequest, EmbeddingRequest

GPT_4O_MINI = Price.with_tiers(TokenRates.of(Decimal("0.15"), Decimal("0.60")))
SONNET = Price.with_tiers(
    TokenRates.of(
        Decimal(3),
        Decimal(15),
        cache_read=Decimal("0.30"),
        cache_write_5m=Decimal("3.75"),
        cache_write_1h=Decimal(6),
    ),
    (
        LongContextTier(
            above_input_tokens=200_000,
            rates=TokenRates.of(Decimal(6), Decimal("22.5"), cache_write_1h=Decimal(12)),
        ),
    ),
)


def chat(**body: Any) -> ChatCompletionRequest:
    """A chat request decoded from its JSON body, as the gateway receives it."""
    body.setdefault("model", "sim/gpt-4o-mini")
    body.setdefault("messages", [{"role": "user", "content": "hello there world"}])
    return msgspec.json.decode(msgspec.json.encode(body), type=ChatCompletionRequest)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
SIM_REQUESTS = {
    "limit and n": chat(max_tokens=7, n=2),
    "no limit": chat(),
    "max_completion_tokens": chat(max_tokens=50, max_completion_tokens=9),
    "system and image": chat(
        messages=[
            {"role": "system", "content": "be brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
        ],
        max_tokens=3,
    ),
    "forced tool call": chat(tools=[WEATHER_TOOL], tool_choice="required", max_tokens=2),
    "json schema": chat(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "a", "schema": {"properties": {"x": {"type": "integer"}}}},
        },
        max_tokens=40,
    ),
    "stop sequence": chat(max_tokens=30, stop=["e"]),
}


# --- sim: exact -----------------------------------------------------------------------------


@pytest.mark.parametrize("request_", SIM_REQUESTS.values(), ids=SIM_REQUESTS.keys())
def test_sim_estimate_is_the_sims_exact_usage(request_: ChatCompletionRequest) -> None:
    _, usage = completion(request_, "gpt-4o-mini", 16)
    estimate = estimate_chat(request_, sim=True, default_output_tokens=16)
    assert (estimate.input_tokens, estimate.output_tokens) == (
        usage.input_tokens,
        usage.output_tokens,
    )
    assert estimate.exact


def test_sim_limit_and_n_worked_by_hand() -> None:
    estimate = estimate_chat(chat(max_tokens=7, n=2), sim=True)
    # "hello there world" is 3 words; 7 words per choice, 2 choices.
    assert (estimate.input_tokens, estimate.output_tokens, estimate.output_limit) == (3, 14, 7)


def test_sim_cost_is_exact_even_where_cache_writes_are_dearer() -> None:
    estimate = estimate_chat(chat(max_tokens=10), sim=True)
    # 3 input x $3/MTok + 10 output x $15/MTok = $0.000009 + $0.00015 = 159,000 nano-dollars
    assert estimate_cost_nanos(estimate, SONNET) == 159_000


# --- other models: an upper bound -----------------------------------------------------------


def test_text_counts_one_token_per_utf8_byte() -> None:
    request = chat(messages=[{"role": "user", "content": "héllo 👋"}])
    # h + é (2 bytes) + llo + space + 👋 (4 bytes) = 11 bytes
    assert input_bound(request) == REQUEST_OVERHEAD + MESSAGE_OVERHEAD + 11


def test_names_tool_calls_and_tool_results_count() -> None:
    request = chat(
        messages=[
            {"role": "user", "content": "hi", "name": "ann"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
    )
    user = MESSAGE_OVERHEAD + 2 + 3  # "hi", "ann"
    call = MESSAGE_OVERHEAD + TOOL_OVERHEAD + 6 + 7 + 15  # id, name, arguments
    result = MESSAGE_OVERHEAD + 5 + 6  # "sunny", the call id
    assert input_bound(request) == REQUEST_OVERHEAD + user + call + result


def test_tool_definitions_count_their_schema_bytes() -> None:
    plain = input_bound(chat())
    schema = msgspec.json.encode(WEATHER_TOOL["function"]["parameters"])  # type: ignore[index]
    with_tool = input_bound(chat(tools=[WEATHER_TOOL]))
    assert with_tool - plain == TOOL_OVERHEAD + len("weather") + len("Weather in a city") + len(
        schema
    )


def test_an_image_counts_the_documented_maximum() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    request = chat(messages=[{"role": "user", "content": [image, image]}])
    assert input_bound(request) == REQUEST_OVERHEAD + MESSAGE_OVERHEAD + 2 * IMAGE_TOKENS


def test_a_file_counts_the_context_window_or_the_default() -> None:
    part = {"type": "file", "file": {"file_id": "file-1"}}
    request = chat(messages=[{"role": "user", "content": [part]}])
    assert input_bound(request) == REQUEST_OVERHEAD + MESSAGE_OVERHEAD + FILE_TOKENS
    assert input_bound(request, context_window=128_000) == 128_000


def test_the_context_window_caps_the_bound() -> None:
    request = chat(messages=[{"role": "user", "content": "x" * 10_000}])
    assert input_bound(request, context_window=4_096) == 4_096


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_the_bound_is_never_below_the_sims_count(texts: list[str]) -> None:
    request = chat(messages=[{"role": "user", "content": t} for t in texts])
    assert input_bound(request) >= openai_prompt(request).tokens


def test_output_is_the_request_limit_times_n() -> None:
    estimate = estimate_chat(chat(max_tokens=100, n=3), max_output_tokens=16_384)
    assert (estimate.output_tokens, estimate.output_limit) == (300, 100)


def test_output_without_a_limit_is_the_models_maximum() -> None:
    estimate = estimate_chat(chat(), max_output_tokens=16_384, default_output_tokens=1_000)
    assert (estimate.output_tokens, estimate.output_limit) == (16_384, 16_384)


def test_output_without_a_limit_or_a_maximum_is_the_default() -> None:
    assert estimate_chat(chat(), default_output_tokens=1_000).output_tokens == 1_000


def test_embedding_inputs() -> None:
    text = EmbeddingRequest(model="m", input=["héllo world", "hi"])
    ids = EmbeddingRequest(model="m", input=[[1, 2, 3], [4]])
    assert estimate_embedding(text).input_tokens == 12 + 2
    assert estimate_embedding(text, sim=True).input_tokens == 3
    assert estimate_embedding(ids).input_tokens == 4


# --- cost -----------------------------------------------------------------------------------


def test_cost_at_plain_rates() -> None:
    estimate = TokenEstimate(input_tokens=1_000, output_tokens=500, output_limit=500, exact=False)
    # 1,000 x $0.15/MTok + 500 x $0.60/MTok = $0.00015 + $0.0003 = 450,000 nano-dollars
    assert estimate_cost_nanos(estimate, GPT_4O_MINI) == 450_000


def test_cost_prices_input_as_the_dearest_cache_write() -> None:
    estimate = TokenEstimate(input_tokens=1_000, output_tokens=100, output_limit=100, exact=False)
    # 1,000 x $6/MTok (1-hour cache write) + 100 x $15/MTok = $0.006 + $0.0015 = $0.0075
    assert estimate_cost_nanos(estimate, SONNET) == 7_500_000


def test_cost_uses_the_long_context_tier_the_estimate_falls_in() -> None:
    estimate = TokenEstimate(
        input_tokens=200_001, output_tokens=1_000, output_limit=1_000, exact=False
    )
    # Tier above 200k: 200,001 x $12/MTok + 1,000 x $22.5/MTok = $2.400012 + $0.0225
    assert estimate_cost_nanos(estimate, SONNET) == 2_422_512_000


def test_cost_prices_output_as_reasoning_when_dearer() -> None:
    price = Price.with_tiers(TokenRates.of(Decimal(1), Decimal(2), reasoning=Decimal(8)))
    estimate = TokenEstimate(input_tokens=0, output_tokens=1_000, output_limit=1_000, exact=False)
    # 1,000 x $8/MTok = $0.008
    assert estimate_cost_nanos(estimate, price) == 8_000_000
