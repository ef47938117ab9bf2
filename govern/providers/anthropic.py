"""The `anthropic` provider: the Messages API behind the gateway's OpenAI shape.

Requests and responses are translated by `govern.providers.anthropic_mapping`; this
module owns the HTTP exchange, the SSE stream decoder, usage normalisation of streams
and the mapping of Anthropic error bodies (including 529 `overloaded_error`, which is
retryable) to `UpstreamStatusError`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Mapping

import msgspec

from govern.config import ProviderConfig
from govern.errors import UpstreamError, UpstreamStatusError, UpstreamUnavailable
from govern.providers.anthropic_mapping import (
    finish_reason,
    normalise_usage,
    to_anthropic_request,
    to_chat_completion,
)
from govern.providers.base import (
    Call,
    ChatResult,
    EmbeddingResult,
    now,
    retry_after_seconds,
    timeouts_for,
    transport_failure,
    unsupported,
)
from govern.sse import SSEvent, iter_events
from govern.transport import Transport, TransportError, UpstreamResponse, fetch
from govern.usage import Usage
from govern.wire import anthropic as a
from govern.wire.openai import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    Delta,
    EmbeddingRequest,
    FinishReason,
    FunctionCallDelta,
    ToolCallDelta,
)

log = logging.getLogger("govern.providers.anthropic")

DEFAULT_BASE_URL = "https://api.anthropic.com"

_encode = msgspec.json.Encoder().encode
_MESSAGE = msgspec.json.Decoder(a.Message)
_EVENT = msgspec.json.Decoder(a.StreamEvent)
_ERROR = msgspec.json.Decoder(a.ErrorResponse)
_BLOCK = msgspec.json.Decoder(a.ResponseBlock)
# Events whose payload may carry block or delta types the gateway does not model
# (server tools, future features): those are skipped, not treated as a broken stream.
_OPEN_ENDED = frozenset({"content_block_start", "content_block_delta"})
_KNOWN_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)


class _LenientMessage(msgspec.Struct, kw_only=True):
    id: str
    model: str
    content: list[msgspec.Raw]
    usage: a.MessageUsage
    stop_reason: str | None = None
    stop_sequence: str | None = None


def status_error(
    provider: str, status: int, headers: Mapping[str, str], body: bytes
) -> UpstreamStatusError:
    """The gateway error for an Anthropic error answer, with Anthropic's own message."""
    error_type: str | None = None
    try:
        detail = _ERROR.decode(body).error
        message, error_type = detail.message, detail.type
    except msgspec.DecodeError:
        message = f"{provider} answered HTTP {status} without an Anthropic error body"
    return UpstreamStatusError(
        message,
        provider=provider,
        upstream_status=status,
        error_type=error_type,
        retry_after=retry_after_seconds(headers),
    )


def decode_message(body: bytes, provider: str) -> a.Message:
    """An Anthropic response body; content blocks of unknown types are skipped."""
    try:
        return _MESSAGE.decode(body)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError:
        raise UpstreamUnavailable(
            f"{provider} sent a response that is not valid JSON", provider=provider
        ) from None
    try:
        lenient = msgspec.json.decode(body, type=_LenientMessage)
    except msgspec.ValidationError as exc:
        raise UpstreamUnavailable(
            f"{provider} sent a response that is not an Anthropic message: {exc}",
            provider=provider,
        ) from None
    blocks: list[a.ResponseBlock] = []
    for raw in lenient.content:
        try:
            blocks.append(_BLOCK.decode(raw))
        except msgspec.ValidationError:
            log.debug("%s: skipping a content block of a type the gateway does not model", provider)
    return a.Message(
        id=lenient.id,
        model=lenient.model,
        content=blocks,
        usage=lenient.usage,
        stop_reason=lenient.stop_reason,
        stop_sequence=lenient.stop_sequence,
    )


def merge_usage(current: a.MessageUsage, update: a.MessageUsage) -> a.MessageUsage:
    """Stream usage after a `message_delta`: its counts are cumulative and overwrite."""
    return a.MessageUsage(
        input_tokens=_pick(update.input_tokens, current.input_tokens),
        output_tokens=update.output_tokens,
        cache_creation_input_tokens=_pick(
            update.cache_creation_input_tokens, current.cache_creation_input_tokens
        ),
        cache_read_input_tokens=_pick(
            update.cache_read_input_tokens, current.cache_read_input_tokens
        ),
        cache_creation=update.cache_creation or current.cache_creation,
        output_tokens_details=update.output_tokens_details or current.output_tokens_details,
    )


def _pick(new: int | None, old: int | None) -> int | None:
    return old if new is None else new


class AnthropicStream:
    """An Anthropic SSE stream read as OpenAI chunks.

    `usage` is updated as the stream reports it: input in `message_start`, cumulative
    output in `message_delta`, so a stream cut midway still has the usage seen so far.
    """

    def __init__(self, provider: str, response: UpstreamResponse):
        self.usage: Usage | None = None
        self._provider = provider
        self._response = response
        self._closed = False
        self._id: str | None = None
        self._model = ""
        self._created = now()
        self._raw_usage = a.MessageUsage()
        self._stop_reason: str | None = None
        self._tools: dict[int, int] = {}
        self._done = False

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[ChatCompletionChunk]:
        try:
            async for event in iter_events(self._response.iter_bytes()):
                chunk = self._on_event(event)
                if chunk is not None:
                    yield chunk
                if self._done:
                    return
        except TransportError as exc:
            raise transport_failure(exc, self._provider) from None
        finally:
            await self.aclose()
        raise UpstreamUnavailable(
            f"{self._provider} stream ended before message_stop", provider=self._provider
        )

    async def aclose(self) -> None:
        """Release the connection."""
        if not self._closed:
            self._closed = True
            await self._response.aclose()

    def _broken(self, what: str) -> UpstreamError:
        return UpstreamUnavailable(
            f"{self._provider} sent a malformed stream: {what}", provider=self._provider
        )

    def _chunk(self, delta: Delta, finish: FinishReason | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self._id or "",
            created=self._created,
            model=self._model,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish)],
        )

    def _on_event(self, sse: SSEvent) -> ChatCompletionChunk | None:
        try:
            event = _EVENT.decode(sse.data)
        except msgspec.ValidationError:
            if sse.event in _OPEN_ENDED or sse.event not in _KNOWN_EVENTS:
                return None
            raise self._broken(f"unexpected {sse.event or 'unnamed'} event") from None
        except msgspec.DecodeError:
            raise self._broken(f"{sse.event or 'unnamed'} event is not valid JSON") from None
        if isinstance(event, a.ErrorResponse):
            raise UpstreamStatusError(
                event.error.message,
                provider=self._provider,
                upstream_status=a.STATUS_BY_ERROR_TYPE.get(event.error.type, 500),
                error_type=event.error.type,
            )
        if isinstance(event, a.PingEvent):
            return None
        if isinstance(event, a.MessageStartEvent):
            self._id = event.message.id or "msg_" + uuid.uuid4().hex
            self._model = event.message.model
            self._raw_usage = event.message.usage
            self.usage = normalise_usage(self._raw_usage)
            return self._chunk(Delta(role="assistant", content=""))
        if self._id is None:
            raise self._broken(f"{sse.event or 'an event'} before message_start")
        return self._on_content(event)

    def _on_content(self, event: a.StreamEvent) -> ChatCompletionChunk | None:
        if isinstance(event, a.ContentBlockDeltaEvent):
            delta = event.delta
            if isinstance(delta, a.TextDelta):
                return self._chunk(Delta(content=delta.text)) if delta.text else None
            tool = self._tools.get(event.index)
            if isinstance(delta, a.InputJSONDelta) and tool is not None and delta.partial_json:
                fragment = FunctionCallDelta(arguments=delta.partial_json)
                return self._chunk(Delta(tool_calls=[ToolCallDelta(index=tool, function=fragment)]))
            return None
        if isinstance(event, a.ContentBlockStartEvent):
            block = event.content_block
            if isinstance(block, a.ToolUseBlock):
                tool = self._tools[event.index] = len(self._tools)
                call = ToolCallDelta(
                    index=tool,
                    id=block.id,
                    type="function",
                    function=FunctionCallDelta(name=block.name, arguments=""),
                )
                return self._chunk(Delta(tool_calls=[call]))
            if isinstance(block, a.TextBlock) and block.text:
                return self._chunk(Delta(content=block.text))
            return None
        if isinstance(event, a.MessageDeltaEvent):
            self._stop_reason = event.delta.stop_reason or self._stop_reason
            self._raw_usage = merge_usage(self._raw_usage, event.usage)
            self.usage = normalise_usage(self._raw_usage)
            return None
        if isinstance(event, a.MessageStopEvent):
            self._done = True
            return self._chunk(Delta(), finish_reason(self._stop_reason))
        return None


class AnthropicProvider:
    """Chat completions through Anthropic's Messages API (no embeddings)."""

    def __init__(self, name: str, config: ProviderConfig, transport: Transport):
        self.name = name
        self.config = config
        self._transport = transport
        self._timeouts = timeouts_for(config)
        base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = base + ("/messages" if base.endswith("/v1") else "/v1/messages")

    def _headers(self, call: Call) -> dict[str, str]:
        if not call.key.value:
            raise UpstreamStatusError(
                f"key {call.key.name!r} of provider {self.name!r} has no API key",
                provider=self.name,
                upstream_status=401,
            )
        return {
            "content-type": "application/json",
            "anthropic-version": a.API_VERSION,
            **self.config.headers,
            "x-api-key": call.key.value,
        }

    def _body(self, request: ChatCompletionRequest, call: Call, stream: bool) -> bytes:
        if call.extra_body:
            log.debug(
                "%s: dropping fields Anthropic does not know: %s",
                self.name,
                ", ".join(sorted(call.extra_body)),
            )
        upstream = to_anthropic_request(
            request,
            provider=self.name,
            model=call.model,
            default_max_tokens=self.config.default_max_tokens,
            stream=stream,
        )
        return _encode(upstream)

    async def chat(self, request: ChatCompletionRequest, call: Call) -> ChatResult:
        """One Messages API call, answered in the OpenAI shape."""
        body = self._body(request, call, stream=False)
        try:
            status, headers, data = await fetch(
                self._transport,
                "POST",
                self._url,
                headers=self._headers(call),
                body=body,
                timeouts=self._timeouts,
            )
        except TransportError as exc:
            raise transport_failure(exc, self.name) from None
        if status != 200:
            raise status_error(self.name, status, headers, data)
        message = decode_message(data, self.name)
        return ChatResult(
            completion=to_chat_completion(message), usage=normalise_usage(message.usage)
        )

    async def stream(self, request: ChatCompletionRequest, call: Call) -> AnthropicStream:
        """Open a Messages API stream; returns once Anthropic answered 200."""
        body = self._body(request, call, stream=True)
        try:
            response = await self._transport.send(
                "POST",
                self._url,
                headers=self._headers(call),
                body=body,
                timeouts=self._timeouts,
            )
        except TransportError as exc:
            raise transport_failure(exc, self.name) from None
        if response.status != 200:
            try:
                data = await response.read()
            except TransportError as exc:
                raise transport_failure(exc, self.name) from None
            finally:
                await response.aclose()
            raise status_error(self.name, response.status, response.headers, data)
        return AnthropicStream(self.name, response)

    async def embed(self, request: EmbeddingRequest, call: Call) -> EmbeddingResult:
        """Anthropic has no embeddings API."""
        raise unsupported(self.name, "embeddings")

    async def aclose(self) -> None:
        """The shared transport is closed by its owner."""
