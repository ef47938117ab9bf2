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
from urllib.parse import quote

import msgspec

from govern.config import ProviderConfig, ProviderKey
from govern.errors import UpstreamError, UpstreamUnavailable
from govern.providers.base import (
    Call,
    ChatResult,
    EmbeddingResult,
    timeouts_for,
    transport_failure,
)
from govern.providers.openai_answers import (
    OpenAIStream,
    decode_completion,
    decode_embeddings,
    normalise_usage,
    parse_error,
    status_error,
)
from govern.transport import (
    Transport,
    TransportError,
    TransportTimeout,
    fetch,
)
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletionRequest,
    EmbeddingRequest,
    StreamOptions,
)

__all__ = ["DEFAULT_BASE_URL", "OpenAIProvider", "OpenAIStream", "normalise_usage", "status_error"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Where `openai` goes when the config sets no `base_url`."""

_INCLUDE_USAGE = StreamOptions(include_usage=True)
_encode = msgspec.json.Encoder().encode


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
        error = parse_error(data)
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
            completion = decode_completion(data)
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
            response = decode_embeddings(data)
        except msgspec.DecodeError as exc:
            raise self._undecodable("embeddings response", exc, data) from None
        return EmbeddingResult(
            response=response, usage=Usage(input_tokens=response.usage.prompt_tokens)
        )

    async def aclose(self) -> None:
        """Nothing to release: the transport is shared and closed by its owner."""
