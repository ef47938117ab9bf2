"""Reading OpenAI's answers: completions, error bodies and statuses, and streams.

The decoders are built once; each response (or stream event) is decoded once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping

import msgspec

from govern.config import ProviderKey
from govern.errors import UpstreamError, UpstreamStatusError, UpstreamUnavailable
from govern.providers.base import retry_after_seconds, transport_failure
from govern.sse import SSEDecoder
from govern.transport import TransportError, UpstreamResponse
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    CompletionUsage,
    EmbeddingResponse,
)

_ERROR_TEXT_LIMIT = 500
"""Characters of an unparseable error body kept in the error message."""

_DRAIN_SECONDS = 1.0
"""How long to wait for the end of a stream's body after [DONE] (to reuse the connection)."""


# --- wire shapes only this module reads ---------------------------------------------------


class _ErrorBody(msgspec.Struct, kw_only=True):
    """OpenAI's error object; compatible servers fill it more or less completely."""

    message: str | None = None
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class _ErrorEnvelope(msgspec.Struct, kw_only=True):
    """An error body: `{"error": {...}}` (OpenAI, Azure), `{"error": "..."}` (Ollama),
    or the error object's fields at the top level (vLLM)."""

    error: _ErrorBody | str | None = None
    message: str | None = None
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class _EventProbe(msgspec.Struct, kw_only=True):
    """What a stream event that is not a well-formed chunk may still say: an error,
    usage, or nothing of interest (Azure's `prompt_filter_results` event)."""

    choices: list[msgspec.Raw] = msgspec.field(default_factory=list)
    usage: CompletionUsage | None = None
    error: _ErrorBody | str | None = None


decode_completion = msgspec.json.Decoder(ChatCompletion).decode
_decode_chunk = msgspec.json.Decoder(ChatCompletionChunk).decode
decode_embeddings = msgspec.json.Decoder(EmbeddingResponse).decode
_decode_error = msgspec.json.Decoder(_ErrorEnvelope).decode
_decode_probe = msgspec.json.Decoder(_EventProbe).decode


# --- usage -------------------------------------------------------------------------------


def normalise_usage(usage: CompletionUsage | None) -> Usage:
    """OpenAI usage as `Usage`: `prompt_tokens` already includes cached tokens and
    `completion_tokens` already includes reasoning tokens, so both map straight across."""
    if usage is None:
        return Usage()
    prompt = usage.prompt_tokens_details
    completion = usage.completion_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens,
        cache_read_tokens=(prompt.cached_tokens or 0) if prompt is not None else 0,
        # Only compatible servers that bill cache writes report them (OpenAI does not).
        cache_write_5m_tokens=(prompt.cache_write_tokens or 0) if prompt is not None else 0,
        output_tokens=usage.completion_tokens,
        reasoning_tokens=(completion.reasoning_tokens or 0) if completion is not None else 0,
    )


# --- errors ------------------------------------------------------------------------------


def _redact(text: str, key: ProviderKey) -> str:
    # Upstreams sometimes echo the credential they rejected; it must never travel on.
    if key.value and key.value in text:
        return text.replace(key.value, "***")
    return text


def status_error(
    provider: str, status: int, headers: Mapping[str, str], body: bytes, key: ProviderKey
) -> UpstreamStatusError:
    """The gateway error for an upstream HTTP error, with the provider's own message."""
    error = parse_error(body)
    message, error_type, code, param = (
        (error.message, error.type, error.code, error.param) if error else (None, None, None, None)
    )
    if not message:
        text = body.decode("utf-8", "replace").strip()[:_ERROR_TEXT_LIMIT]
        message = f"{provider} answered HTTP {status}" + (f": {text}" if text else "")
    return UpstreamStatusError(
        _redact(message, key),
        provider=provider,
        upstream_status=status,
        code=None if code is None else str(code),
        param=param,
        error_type=error_type,
        retry_after=retry_after_seconds(headers),
    )


def parse_error(body: bytes) -> _ErrorBody | None:
    try:
        envelope = _decode_error(body)
    except msgspec.DecodeError:
        return None
    return _error_object(envelope.error) or (
        _ErrorBody(
            message=envelope.message,
            type=envelope.type,
            code=envelope.code,
            param=envelope.param,
        )
        if envelope.message
        else None
    )


def _error_object(error: _ErrorBody | str | None) -> _ErrorBody | None:
    if isinstance(error, str):
        return _ErrorBody(message=error)
    return error


# --- the stream --------------------------------------------------------------------------


class OpenAIStream:
    """An open Chat Completions stream: content chunks out, the usage chunk swallowed.

    `ready` counts the chunks already decoded from bytes that have arrived and not yet
    yielded: while it is above zero the next chunk comes without waiting, so a relay can
    send them to the client in one write instead of one write per chunk.
    """

    __slots__ = ("_iterator", "_key", "_provider", "_response", "ready", "usage")

    def __init__(self, provider: str, response: UpstreamResponse, key: ProviderKey):
        self.usage: Usage | None = None
        self.ready = 0
        self._provider = provider
        self._response = response
        self._key = key
        self._iterator: AsyncGenerator[ChatCompletionChunk, None] | None = None

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        if self._iterator is None:
            self._iterator = self._chunks()
        return self._iterator

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        iterator, self._iterator = self._iterator, None
        if iterator is not None:
            await iterator.aclose()
        await self._response.aclose()

    async def _chunks(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        decoder = SSEDecoder()
        body = self._response.iter_bytes()
        try:
            async for data in body:
                # Decode every event of this read before yielding the first, so `ready`
                # is exact; an error is raised only after the chunks before it.
                chunks: list[ChatCompletionChunk] = []
                failure: UpstreamError | None = None
                done = False
                for event in decoder.feed(data):
                    payload = event.data
                    if payload == b"[DONE]":
                        done = True
                        break
                    if payload:
                        try:
                            chunk = self.parse_event(payload)
                        except UpstreamError as exc:
                            failure = exc
                            break
                        if chunk is not None:
                            chunks.append(chunk)
                self.ready = len(chunks)
                for chunk in chunks:
                    self.ready -= 1
                    yield chunk
                if failure is not None:
                    raise failure
                if done:
                    await _drain(body)
                    return
        except TransportError as exc:
            raise transport_failure(exc, self._provider) from None
        finally:
            await self._response.aclose()
        raise UpstreamUnavailable(
            f"{self._provider} stream ended before [DONE]", provider=self._provider
        )

    def parse_event(self, payload: bytes) -> ChatCompletionChunk | None:
        """The content chunk in one `data:` payload, or None; records usage on the way."""
        try:
            chunk = _decode_chunk(payload)
        except msgspec.ValidationError as exc:
            return self._odd_event(payload, exc)
        except msgspec.DecodeError:
            raise UpstreamUnavailable(
                f"{self._provider} sent a malformed stream event (not JSON)",
                provider=self._provider,
            ) from None
        if chunk.usage is not None:
            # Usage comes in its own chunk when asked for (OpenAI), or on the last content
            # chunk (Mistral, vLLM's continuous stats: cumulative, so the last one wins).
            self.usage = normalise_usage(chunk.usage)
            chunk.usage = None
        return chunk if chunk.choices else None

    def _odd_event(
        self, payload: bytes, exc: msgspec.ValidationError
    ) -> ChatCompletionChunk | None:
        try:
            probe = _decode_probe(payload)
        except msgspec.DecodeError:
            probe = _EventProbe(choices=[msgspec.Raw(b"null")])  # neither chunk nor error
        error = _error_object(probe.error)
        if error is not None:
            message = error.message or "an error occurred during streaming"
            raise UpstreamUnavailable(
                _redact(f"{self._provider} stream failed: {message}", self._key),
                provider=self._provider,
                code=None if error.code is None else str(error.code),
            )
        if probe.choices:
            raise UpstreamUnavailable(
                f"{self._provider} sent a stream chunk outside the protocol: {exc}",
                provider=self._provider,
            )
        if probe.usage is not None:
            self.usage = normalise_usage(probe.usage)
        return None


async def _drain(body: AsyncIterator[bytes]) -> None:
    # A connection goes back to the pool only once its body is read to the end; after
    # [DONE] only the end of the body is left, so this is normally immediate.
    try:
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in body:
                pass
    except (TransportError, TimeoutError):
        pass
