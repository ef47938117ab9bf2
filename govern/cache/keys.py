"""Request normalisation and canonical hashing: the keys of the exact and semantic layers.

A request is reduced to plain data holding the model as requested and every field that
can change the answer, normalised (integral floats become ints, `max_tokens` and
`max_completion_tokens` become one field, a lone text part becomes a string), then
encoded with sorted keys and hashed with SHA-256: the same hash in every process and
after every restart. Fields that cannot change the answer (`user`, `stream`,
`stream_options`, `fallbacks`) are left out. Unknown top-level fields are kept: the
gateway forwards them, so they may change the answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec

from govern.wire.openai import (
    AssistantMessage,
    ChatCompletionRequest,
    TextPart,
    ToolMessage,
    UserMessage,
)

KEY_VERSION = b"govern-cache-v1\x00"
"""Mixed into every hash: changing the normalisation changes it, so old entries miss."""

IGNORED_FIELDS: frozenset[str] = frozenset({"user", "stream", "stream_options", "fallbacks"})
"""Request fields that never change the answer, left out of every hash."""

_ENCODER = msgspec.json.Encoder(order="sorted")


@dataclass(frozen=True, slots=True)
class RequestKeys:
    """The hashes (64 hex digits) of one request, and its semantic layer query."""

    request_hash: str
    """Everything that changes the answer: the exact layer's key."""
    params_hash: str
    """The same, less the messages."""
    context_hash: str | None
    """The parameters plus every message before the final user turn: the semantic layer
    compares final turns only within one context. None when the semantic layer is skipped."""
    query: str | None
    """The final user turn's text, whitespace collapsed, to embed; None when skipped."""
    semantic_skip: str | None
    """Why the semantic layer does not apply to this request, or None."""


def canonical(request: ChatCompletionRequest, extras: dict[str, msgspec.Raw] | None) -> Any:
    """The request as normalised plain data, without the ignored fields."""
    # One encode/decode pair turns the Structs (and the JSON kept as `Raw` inside them,
    # such as tool parameter schemas) into plain data to normalise.
    data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(request))
    for name in IGNORED_FIELDS:
        data.pop(name, None)
    data.pop("max_completion_tokens", None)
    data.pop("max_tokens", None)
    if request.output_limit is not None:
        data["max_tokens"] = request.output_limit
    for name, raw in (extras or {}).items():
        if name not in IGNORED_FIELDS:
            data[name] = msgspec.json.decode(raw)
    normalised: dict[str, Any] = _normalise(data)
    for message in normalised.get("messages", ()):
        content = message.get("content")
        if isinstance(content, list) and len(content) == 1:
            part = content[0]
            if (
                isinstance(part, dict)
                and part.keys() == {"type", "text"}
                and part["type"] == "text"
            ):
                message["content"] = part["text"]
    return normalised


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def digest(*parts: Any) -> str:
    """SHA-256 (hex) of plain data encoded with sorted keys, versioned."""
    h = hashlib.sha256(KEY_VERSION)
    for part in parts:
        h.update(_ENCODER.encode(part))
        h.update(b"\x00")
    return h.hexdigest()


def request_keys(
    request: ChatCompletionRequest,
    extras: dict[str, msgspec.Raw] | None = None,
    *,
    max_turns: int = 4,
    embedding_model: str = "",
) -> RequestKeys:
    """The exact key, parameters hash and semantic query of a request.

    `embedding_model` goes into the context hash: vectors of two models never meet.
    """
    data = canonical(request, extras)
    messages = data.pop("messages")
    params_hash = digest(data)
    request_hash = digest(data, messages)
    skip = semantic_skip(request, max_turns)
    if skip is not None:
        return RequestKeys(request_hash, params_hash, None, None, skip)
    last = request.messages[-1]
    assert isinstance(last, UserMessage)  # semantic_skip checked it
    query = " ".join(_text(last).split())
    context_hash = digest(params_hash, messages[:-1], embedding_model)
    return RequestKeys(request_hash, params_hash, context_hash, query, None)


def semantic_skip(request: ChatCompletionRequest, max_turns: int) -> str | None:
    """Why the semantic layer must not answer this request, or None if it may."""
    turns = 0
    for message in request.messages:
        if isinstance(message, ToolMessage) or (
            isinstance(message, AssistantMessage) and message.tool_calls
        ):
            return "tool calls in flight"
        if isinstance(message, UserMessage):
            turns += 1
    if turns > max_turns:
        return f"more than {max_turns} turns"
    last = request.messages[-1]
    if not isinstance(last, UserMessage):
        return "the last message is not a user turn"
    if isinstance(last.content, list) and not all(isinstance(p, TextPart) for p in last.content):
        return "the last turn is not text only"
    if not _text(last).strip():
        return "the last turn is empty"
    return None


def _text(message: UserMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return "\n".join(p.text for p in message.content if isinstance(p, TextPart))
