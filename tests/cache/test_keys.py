"""Request normalisation and canonical hashing: what changes the key and what does not."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import msgspec
import pytest

from govern.cache.keys import request_keys
from govern.wire.decode import decode_chat_request
from tests.conftest import ROOT

BASE: dict[str, Any] = {
    "model": "openai/gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is 2+2?"},
    ],
    "temperature": 0.2,
}


def keys(body: dict[str, Any], **kwargs: Any) -> Any:
    request, extras = decode_chat_request(msgspec.json.encode(body))
    return request_keys(request, extras, **kwargs)


def changed(**fields: Any) -> dict[str, Any]:
    return {**BASE, **fields}


# The hash of BASE, pinned: it must not change between runs, processes or releases
# (a change empties every cache; bump KEY_VERSION on purpose if the normalisation does).
BASE_HASH = "7df767fcf75bbed97f0aeabeb28fe4c937384a6a8b048f0b67943c782d0c4767"

HASH_IN_CHILD = """
import msgspec, sys
from govern.cache.keys import request_keys
from govern.wire.decode import decode_chat_request
request, extras = decode_chat_request(sys.stdin.buffer.read())
k = request_keys(request, extras)
print(k.request_hash, k.params_hash)
"""


def test_the_hash_is_the_same_in_another_process() -> None:
    body = changed(
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"b": 1, "a": 2}}}],
        metadata={"z": 1, "y": [1.0, 2.5]},
    )
    child = subprocess.run(
        [sys.executable, "-c", HASH_IN_CHILD],
        input=msgspec.json.encode(body),
        capture_output=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    here = keys(body)
    assert child.stdout.decode().split() == [here.request_hash, here.params_hash]


def test_the_hash_is_pinned() -> None:
    assert keys(BASE).request_hash == BASE_HASH


def test_key_order_does_not_matter() -> None:
    reordered = {"temperature": 0.2, "messages": BASE["messages"], "model": BASE["model"]}
    assert keys(reordered).request_hash == BASE_HASH


def test_integral_floats_equal_ints() -> None:
    a = changed(temperature=1, tools=[_tool({"maxItems": 3})])
    b = changed(temperature=1.0, tools=[_tool({"maxItems": 3.0})])
    assert keys(a).request_hash == keys(b).request_hash


def test_schema_key_order_does_not_matter() -> None:
    a = changed(tools=[_tool({"type": "object", "properties": {"x": {"type": "string"}}})])
    b = changed(tools=[_tool({"properties": {"x": {"type": "string"}}, "type": "object"})])
    assert keys(a).request_hash == keys(b).request_hash


def test_both_spellings_of_max_tokens_are_one_field() -> None:
    assert (
        keys(changed(max_tokens=50)).request_hash
        == keys(changed(max_completion_tokens=50)).request_hash
    )


def test_a_lone_text_part_equals_a_string() -> None:
    parts = changed(
        messages=[
            BASE["messages"][0],
            {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]},
        ]
    )
    assert keys(parts).request_hash == BASE_HASH


@pytest.mark.parametrize(
    "ignored",
    [
        {"user": "alice"},
        {"stream": True},
        {"stream": True, "stream_options": {"include_usage": True}},
        {"fallbacks": ["anthropic/claude-3-5-haiku"]},
    ],
)
def test_fields_that_cannot_change_the_answer_are_ignored(ignored: dict[str, Any]) -> None:
    assert keys(changed(**ignored)).request_hash == BASE_HASH


@pytest.mark.parametrize(
    "field",
    [
        {"model": "anthropic/claude-3-5-haiku"},
        {"model": "gpt-4o-mini"},  # the model as requested, not as routed
        {"messages": [{"role": "user", "content": "What is 2+3?"}]},
        {"messages": [{"role": "system", "content": "Answer at length."}, BASE["messages"][1]]},
        {"temperature": 0.3},
        {"top_p": 0.5},
        {"max_tokens": 10},
        {"stop": ["\n"]},
        {"seed": 7},
        {"n": 2},
        {"presence_penalty": 0.5},
        {"frequency_penalty": 0.5},
        {"logit_bias": {"50256": -100}},
        {"logprobs": True},
        {"reasoning_effort": "high"},
        {"tools": [{"type": "function", "function": {"name": "add"}}]},
        {"tools": [{"type": "function", "function": {"name": "add"}}], "tool_choice": "required"},
        {"response_format": {"type": "json_object"}},
        {"parallel_tool_calls": False},
        {"metadata": {"experiment": "b"}},  # an unknown field is forwarded, so it counts
    ],
)
def test_fields_that_change_the_answer_change_the_hash(field: dict[str, Any]) -> None:
    assert keys(changed(**field)).request_hash != BASE_HASH


def test_the_parameters_hash_leaves_out_the_messages() -> None:
    other_question = changed(messages=[{"role": "user", "content": "Name a colour."}])
    assert keys(other_question).params_hash == keys(BASE).params_hash
    assert keys(changed(temperature=0.9)).params_hash != keys(BASE).params_hash


def test_the_context_hash_holds_everything_before_the_last_turn() -> None:
    other_question = changed(messages=[BASE["messages"][0], {"role": "user", "content": "Hi"}])
    other_system = changed(
        messages=[{"role": "system", "content": "Be verbose."}, BASE["messages"][1]]
    )
    assert keys(other_question).context_hash == keys(BASE).context_hash
    assert keys(other_system).context_hash != keys(BASE).context_hash


def test_the_context_hash_depends_on_the_embedding_model() -> None:
    a = keys(BASE, embedding_model="all-MiniLM-L6-v2")
    b = keys(BASE, embedding_model="/models/other")
    assert a.context_hash != b.context_hash
    assert a.request_hash == b.request_hash


def test_the_semantic_query_is_the_last_user_turn_with_whitespace_collapsed() -> None:
    k = keys(changed(messages=[{"role": "user", "content": "  What is\n 2+2? "}]))
    assert k.query == "What is 2+2?"


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        (
            [
                {"role": "user", "content": "Add 2 and 2"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "add", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "4"},
            ],
            "tool calls in flight",
        ),
        (
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}] * 2
            + [{"role": "user", "content": "q3"}],
            "more than 2 turns",
        ),
        (
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "He"}],
            "not a user turn",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                }
            ],
            "not text only",
        ),
    ],
)
def test_requests_the_semantic_layer_skips(messages: list[Any], reason: str) -> None:
    k = keys(changed(messages=messages), max_turns=2)
    assert k.semantic_skip is not None and reason in k.semantic_skip
    assert (k.query, k.context_hash) == (None, None)


def test_up_to_max_turns_the_semantic_layer_applies() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "q2"},
    ]
    assert keys(changed(messages=messages), max_turns=2).semantic_skip is None


def _tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "parameters": parameters}}
