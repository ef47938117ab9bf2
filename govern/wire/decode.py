"""Decode request bodies once at the edge, with errors that name the field."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from govern.errors import InvalidRequest
from govern.wire.openai import ChatCompletionRequest, EmbeddingRequest

T = TypeVar("T")

_CHAT_FIELDS = frozenset(ChatCompletionRequest.__struct_fields__)
_EXTRAS_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
_CHAT_DECODER = msgspec.json.Decoder(ChatCompletionRequest)
_EMBEDDING_DECODER = msgspec.json.Decoder(EmbeddingRequest)
MAX_OUTPUT_TOKENS = 10_000_000
"""An output limit above this is a mistake whatever the model (and would make the
gateway's own estimates and the sim allocate without bound)."""
_PATH = re.compile(r" - at `\$\.?([^`]*)`$")


def _fail(exc: msgspec.ValidationError | msgspec.DecodeError, what: str) -> InvalidRequest:
    message = str(exc)
    match = _PATH.search(message)
    if isinstance(exc, msgspec.ValidationError):
        param = match.group(1) if match else None
        text = _PATH.sub("", message)
        where = f" at `{param}`" if param else ""
        return InvalidRequest(f"invalid {what}{where}: {text}", param=param or None)
    return InvalidRequest(f"request body is not valid JSON: {message}")


def decode_chat_request(body: bytes) -> tuple[ChatCompletionRequest, dict[str, msgspec.Raw]]:
    """The chat request and the top-level fields it does not model (for pass-through)."""
    if not body:
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        fields = _EXTRAS_DECODER.decode(body)
    except msgspec.ValidationError:
        raise InvalidRequest("request body must be a JSON object") from None
    except msgspec.DecodeError as exc:
        raise _fail(exc, "request") from None
    try:
        request = _CHAT_DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _fail(exc, "request") from None
    check_chat_request(request)
    if fields.keys() <= _CHAT_FIELDS:
        return request, {}
    return request, {k: v for k, v in fields.items() if k not in _CHAT_FIELDS}


def check_chat_request(request: ChatCompletionRequest) -> None:
    """Range and consistency rules the schema alone cannot state."""
    if not request.messages:
        raise InvalidRequest("`messages` must contain at least one message", param="messages")
    if not request.model:
        raise InvalidRequest("`model` must not be empty", param="model")
    for name in ("max_tokens", "max_completion_tokens", "n"):
        value = getattr(request, name)
        if value is not None and value < 1:
            raise InvalidRequest(f"`{name}` must be >= 1, got {value}", param=name)
        if value is not None and value > MAX_OUTPUT_TOKENS and name != "n":
            raise InvalidRequest(
                f"`{name}` must be <= {MAX_OUTPUT_TOKENS} (no model writes more), got {value}",
                param=name,
            )
    if request.n is not None and request.n > 128:
        raise InvalidRequest(f"`n` must be <= 128, got {request.n}", param="n")
    if request.temperature is not None and not 0 <= request.temperature <= 2:
        raise InvalidRequest(
            f"`temperature` must be between 0 and 2, got {request.temperature}",
            param="temperature",
        )
    if request.top_p is not None and not 0 <= request.top_p <= 1:
        raise InvalidRequest(f"`top_p` must be between 0 and 1, got {request.top_p}", param="top_p")
    if request.stream_options is not None and not request.stream:
        raise InvalidRequest(
            "`stream_options` is only allowed when `stream` is true", param="stream_options"
        )
    if request.tool_choice is not None and request.tool_choice != "none" and not request.tools:
        raise InvalidRequest("`tool_choice` needs `tools`", param="tool_choice")


def decode_embedding_request(body: bytes) -> EmbeddingRequest:
    """The embeddings request, validated."""
    if not body:
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        request = _EMBEDDING_DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _fail(exc, "request") from None
    if not request.model:
        raise InvalidRequest("`model` must not be empty", param="model")
    if request.input == [] or request.input == "":
        raise InvalidRequest("`input` must not be empty", param="input")
    if isinstance(request.input, list) and len({type(v) for v in request.input}) > 1:
        raise InvalidRequest(
            "`input` must be a string, a list of strings, a list of token ids or a list of "
            "token-id lists, not a mixture",
            param="input",
        )
    return request


def decode(body: bytes, type: type[T], what: str) -> T:
    """Decode `body` as `type`; a failure is a 400 naming the field."""
    try:
        return msgspec.json.decode(body, type=type)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _fail(exc, what) from None
