"""OpenAI Chat Completions, and every OpenAI-compatible service through `base_url`.

Groq, Mistral, Together, Ollama and vLLM differ from OpenAI only in their base URL.
Azure OpenAI (switched on by `api_version`) puts the deployment in the path, the
`api-version` in the query and the key in an `api-key` header.

This is the benchmark's hot path: a request Struct is encoded once, each response (or
stream event) decoded once, and URLs and headers are built once per model and key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from urllib.parse import quote

import msgspec

from govern.config import ProviderConfig, ProviderKey
from govern.errors import UpstreamError, UpstreamStatusError, UpstreamUnavailable
from govern.providers.base import (
    Call,
    ChatResult,
    EmbeddingResult,
    retry_after_seconds,
    timeouts_for,
    transport_failure,
)
from govern.sse import SSEDecoder
from govern.transport import (
    Transport,
    TransportError,
    TransportTimeout,
    UpstreamResponse,
    fetch,
)
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    CompletionUsage,
    EmbeddingRequest,
    EmbeddingResponse,
    StreamOptions,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Where `openai` goes when the config sets no `base_url`."""

_ERROR_TEXT_LIMIT = 500
"""Characters of an unparseable error body kept in the error message."""

_DRAIN_SECONDS = 1.0
"""How long to wait for the end of a stream's body after [DONE] (to reuse the connection)."""

_INCLUDE_USAGE = StreamOptions(include_usage=True)
_encode = msgspec.json.Encoder().encode


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


_decode_completion = msgspec.json.Decoder(ChatCompletion).decode
_decode_chunk = msgspec.json.Decoder(ChatCompletionChunk).decode
_decode_embeddings = msgspec.json.Decoder(EmbeddingResponse).decode
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
    error = _parse_error(body)
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


def _parse_error(body: bytes) -> _ErrorBody | None:
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


# --- the provider ------------------------------------------------------------------------


class OpenAIProvider:
    """OpenAI and OpenAI-compatible upstreams (Azure OpenAI when `api_version` is set)."""

    def __init__(self, name: str, config: ProviderConfig, transport: Transport):
        self.name = name
        self.config = config
        self._transport = transport
        self._timeouts = timeouts_for(config)
        self._base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._azure_query = (
            "?api-version=" + quote(config.api_version, safe="")
            if config.api_version is not None
            else None
        )
        self._chat_urls: dict[str, str] = {}
        self._embedding_urls: dict[str, str] = {}
        self._headers: dict[str | None, dict[str, str]] = {}

    # --- request parts ---------------------------------------------------------------------

    def _url(self, cache: dict[str, str], operation: str, model: str) -> str:
        url = cache.get(model)
        if url is None:
            if self._azure_query is None:
                url = f"{self._base}/{operation}"
            else:
                deployment = quote(model, safe="")
                url = f"{self._base}/openai/deployments/{deployment}/{operation}{self._azure_query}"
            cache[model] = url
        return url

    def _headers_for(self, key: ProviderKey) -> dict[str, str]:
        headers = self._headers.get(key.value)
        if headers is None:
            headers = {"Content-Type": "application/json"}
            if key.value:
                if self._azure_query is None:
                    headers["Authorization"] = "Bearer " + key.value
                else:
                    headers["api-key"] = key.value
            headers.update(self.config.headers)
            self._headers[key.value] = headers
        return headers

    @staticmethod
    def _with_extra(body: bytes, call: Call) -> bytes:
        if not call.extra_body:
            return body
        extra = b",".join(
            _encode(name) + b":" + bytes(value)
            for name, value in call.extra_body.items()
            if name != "fallbacks"
        )
        return body[:-1] + b"," + extra + b"}" if extra else body

    def chat_body(self, request: ChatCompletionRequest, call: Call, *, stream: bool) -> bytes:
        """The upstream request body: the client's request for `call.model`, without the
        gateway's `fallbacks`, with usage always asked for on streams, plus extra fields."""
        if stream:
            upstream = msgspec.structs.replace(
                request,
                model=call.model,
                fallbacks=None,
                stream=True,
                stream_options=_INCLUDE_USAGE,
            )
        elif request.model != call.model or request.fallbacks is not None or request.stream:
            upstream = msgspec.structs.replace(
                request, model=call.model, fallbacks=None, stream=None
            )
        else:
            upstream = request
        return self._with_extra(_encode(upstream), call)

    # --- operations ------------------------------------------------------------------------

    async def _post(self, url: str, body: bytes, key: ProviderKey) -> bytes:
        try:
            status, headers, data = await fetch(
                self._transport,
                "POST",
                url,
                headers=self._headers_for(key),
                body=body,
                timeouts=self._timeouts,
            )
        except TransportError as exc:
            raise transport_failure(exc, self.name) from None
        if not 200 <= status < 300:
            raise status_error(self.name, status, headers, data, key)
        return data

    def _undecodable(self, what: str, exc: msgspec.DecodeError, data: bytes) -> UpstreamError:
        error = _parse_error(data)
        if error is not None and error.message:
            message = f"{self.name} answered 200 with an error: {error.message}"
        else:
            message = f"{self.name} sent an invalid {what}: {exc}"
        return UpstreamUnavailable(message, provider=self.name)

    async def chat(self, request: ChatCompletionRequest, call: Call) -> ChatResult:
        """Run a non-streaming chat completion."""
        url = self._url(self._chat_urls, "chat/completions", call.model)
        data = await self._post(url, self.chat_body(request, call, stream=False), call.key)
        try:
            completion = _decode_completion(data)
        except msgspec.DecodeError as exc:
            raise self._undecodable("chat completion", exc, data) from None
        if completion.usage is None:
            log.warning("%s returned a completion without usage", self.name)
        return ChatResult(completion=completion, usage=normalise_usage(completion.usage))

    async def stream(self, request: ChatCompletionRequest, call: Call) -> OpenAIStream:
        """Open a streaming chat completion; returns once the upstream answered 200."""
        url = self._url(self._chat_urls, "chat/completions", call.model)
        body = self.chat_body(request, call, stream=True)
        timeouts = self._timeouts
        try:
            async with asyncio.timeout(timeouts.total):
                response = await self._transport.send(
                    "POST",
                    url,
                    headers=self._headers_for(call.key),
                    body=body,
                    timeouts=timeouts,
                )
        except TimeoutError:
            raise transport_failure(
                TransportTimeout(f"no answer within {timeouts.total:g} s"), self.name
            ) from None
        except TransportError as exc:
            raise transport_failure(exc, self.name) from None
        if not 200 <= response.status < 300:
            try:
                async with asyncio.timeout(timeouts.total):
                    data = await response.read()
            except (TransportError, TimeoutError):
                data = b""
            finally:
                await response.aclose()
            raise status_error(self.name, response.status, response.headers, data, call.key)
        return OpenAIStream(self.name, response, call.key)

    async def embed(self, request: EmbeddingRequest, call: Call) -> EmbeddingResult:
        """Compute embeddings (`POST /embeddings`, passed through)."""
        url = self._url(self._embedding_urls, "embeddings", call.model)
        upstream = (
            request
            if request.model == call.model
            else msgspec.structs.replace(request, model=call.model)
        )
        data = await self._post(url, self._with_extra(_encode(upstream), call), call.key)
        try:
            response = _decode_embeddings(data)
        except msgspec.DecodeError as exc:
            raise self._undecodable("embeddings response", exc, data) from None
        return EmbeddingResult(
            response=response, usage=Usage(input_tokens=response.usage.prompt_tokens)
        )

    async def aclose(self) -> None:
        """Nothing to release: the transport is shared and closed by its owner."""
