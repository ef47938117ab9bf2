"""Request validation for the simulated OpenAI upstream, with OpenAI's own error messages.

The real API rejects what this module rejects, in the same words: unknown top-level
arguments, missing or mistyped fields (naming the parameter), out-of-range numbers,
`stream_options` without `stream`, `tool_choice` without `tools`, and tool messages
that do not answer a preceding assistant message's tool calls.
"""

from __future__ import annotations

from typing import Any

import msgspec

from govern.sim.engine import output_too_large
from govern.wire.openai import (
    AssistantMessage,
    ChatCompletionRequest,
    EmbeddingRequest,
    ToolMessage,
)


class ChatRequest(
    ChatCompletionRequest, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """A Chat Completions body as OpenAI accepts it: the gateway's request Struct plus
    the parameters the gateway does not model, and nothing else."""

    store: Any = None
    metadata: Any = None
    prediction: Any = None
    modalities: Any = None
    audio: Any = None
    service_tier: Any = None
    web_search_options: Any = None
    prompt_cache_key: Any = None
    prompt_cache_retention: Any = None
    safety_identifier: Any = None
    verbosity: Any = None
    functions: Any = None
    function_call: Any = None


class EmbeddingsRequest(
    EmbeddingRequest, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """An embeddings body as OpenAI accepts it."""


class RequestProblem(Exception):
    """A request OpenAI would reject with 400; carries the error's fields."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


UNPARSEABLE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
    "contact us through our help center at help.openai.com.)"
)

_decode_chat = msgspec.json.Decoder(ChatRequest).decode
_decode_embeddings = msgspec.json.Decoder(EmbeddingsRequest).decode

_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a decimal",
    "bool": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


def decode_chat(body: bytes) -> ChatRequest:
    """Decode and check a Chat Completions body; raise RequestProblem as OpenAI would."""
    try:
        request = _decode_chat(body)
    except msgspec.ValidationError as exc:
        raise _problem(str(exc)) from None
    except msgspec.DecodeError:
        raise RequestProblem(UNPARSEABLE) from None
    check_chat(request)
    return request


def decode_embeddings(body: bytes) -> EmbeddingsRequest:
    """Decode and check an embeddings body; raise RequestProblem as OpenAI would."""
    try:
        request = _decode_embeddings(body)
    except msgspec.ValidationError as exc:
        raise _problem(str(exc)) from None
    except msgspec.DecodeError:
        raise RequestProblem(UNPARSEABLE) from None
    value = request.input
    if not value or (isinstance(value, list) and any(v in ("", []) for v in value)):
        raise RequestProblem(
            "'$.input' is invalid. Please check the API reference: "
            "https://platform.openai.com/docs/api-reference.",
            "input",
        )
    if request.dimensions is not None and request.dimensions < 1:
        raise _below("dimensions", 1, request.dimensions)
    return request


def _problem(text: str) -> RequestProblem:
    """OpenAI's wording for a msgspec validation message."""
    text, _, where = text.partition(" - at `$")
    path = where.rstrip("`").lstrip(".") or None
    if text.startswith("Object missing required field `"):
        name = text[len("Object missing required field `") : -1]
        param = f"{path}.{name}" if path else name
        return RequestProblem(
            f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
        )
    if text.startswith("Object contains unknown field `"):
        name = text[len("Object contains unknown field `") : -1]
        return RequestProblem(f"Unrecognized request argument supplied: {name}")
    if text.startswith("Expected `") and path is None:
        return RequestProblem(UNPARSEABLE)  # the body is JSON, but not an object
    if text.startswith("Expected `"):
        expected, _, got = text[len("Expected `") :].partition("`, got `")
        wanted = [_TYPE_WORDS.get(t, t) for t in expected.split(" | ") if t != "null"]
        wanted_text = wanted[0] if len(wanted) == 1 else "one of " + " or ".join(wanted)
        return RequestProblem(
            f"Invalid type for '{path}': expected {wanted_text}, but got "
            f"{_TYPE_WORDS.get(got.rstrip('`'), got.rstrip('`'))} instead.",
            path,
            "invalid_type",
        )
    value = text.rsplit(" ", 1)[-1]
    return RequestProblem(
        f"Invalid value: {value}. Check the API reference for '{path}'.", path, "invalid_value"
    )


def _below(name: str, minimum: float, got: float) -> RequestProblem:
    kind = "integer" if isinstance(got, int) else "decimal"
    return RequestProblem(
        f"Invalid '{name}': {kind} below minimum value. Expected a value >= {minimum:g}, "
        f"but got {got:g} instead.",
        name,
        f"{kind}_below_min_value",
    )


def _above(name: str, maximum: float, got: float) -> RequestProblem:
    kind = "integer" if isinstance(got, int) else "decimal"
    return RequestProblem(
        f"Invalid '{name}': {kind} above maximum value. Expected a value <= {maximum:g}, "
        f"but got {got:g} instead.",
        name,
        f"{kind}_above_max_value",
    )


_RANGES: tuple[tuple[str, float, float], ...] = (
    ("temperature", 0, 2),
    ("top_p", 0, 1),
    ("n", 1, 128),
    ("presence_penalty", -2, 2),
    ("frequency_penalty", -2, 2),
    ("top_logprobs", 0, 20),
    ("max_tokens", 1, float("inf")),
    ("max_completion_tokens", 1, float("inf")),
)


def check_chat(request: ChatRequest) -> None:
    """The checks OpenAI applies after parsing; raise RequestProblem."""
    if request.fallbacks is not None:
        raise RequestProblem("Unrecognized request argument supplied: fallbacks")
    if not request.messages:
        raise RequestProblem(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages",
            "empty_array",
        )
    for name, low, high in _RANGES:
        value = getattr(request, name)
        if value is not None:
            if value < low:
                raise _below(name, low, value)
            if value > high:
                raise _above(name, high, value)
    if request.stream_options is not None and not request.stream:
        raise RequestProblem(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    if request.tool_choice is not None and not request.tools:
        raise RequestProblem(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
            "are specified.",
            "tool_choice",
        )
    limit = request.max_completion_tokens or request.max_tokens
    if limit is not None and (problem := output_too_large(limit, limit, request.n or 1)):
        raise RequestProblem(problem, "max_tokens", "invalid_value")
    _check_tool_turns(request)


def _check_tool_turns(request: ChatRequest) -> None:
    waiting: list[str] = []  # tool_call_ids still owed a tool message
    opened_at = 0
    answerable: set[str] = set()
    for i, message in enumerate(request.messages):
        if isinstance(message, ToolMessage):
            if message.tool_call_id not in answerable:
                raise RequestProblem(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            if message.tool_call_id in waiting:
                waiting.remove(message.tool_call_id)
            continue
        if waiting:
            break
        answerable = set()
        if isinstance(message, AssistantMessage) and message.tool_calls:
            waiting = [c.id for c in message.tool_calls]
            answerable = set(waiting)
            opened_at = i
    if waiting:
        raise RequestProblem(
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(waiting)}",
            f"messages.[{opened_at}].role",
        )
