"""The `bedrock` provider: AWS Bedrock's Converse and ConverseStream APIs.

Requests are signed with SigV4 by botocore (the `[bedrock]` extra, imported when the
provider is built; `bedrock_auth`). Credentials come from the key (`aws_access_key_id`,
`aws_secret_access_key`, optional `aws_session_token`) or, when the key has none, from the
default AWS credential chain (environment, profiles, SSO, instance and container roles).
Embeddings are not offered: Converse has none (`embed` answers 400).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import msgspec
import yarl

from govern.config import ProviderConfig, ProviderKey
from govern.errors import UpstreamStatusError, UpstreamUnavailable
from govern.providers import bedrock_wire as bw
from govern.providers.base import (
    Call,
    ChatResult,
    EmbeddingResult,
    timeouts_for,
    transport_failure,
    unsupported,
)
from govern.providers.bedrock_auth import (
    INSTALL_HINT,
    KeySigner,
    botocore_classes,
    default_chain_credentials,
)
from govern.providers.bedrock_errors import (
    STREAM_EXCEPTION_STATUS,
    redact,
    status_error,
    stream_exception,
)
from govern.providers.bedrock_translate import (
    StreamTranslator,
    completion_from_converse,
    converse_request,
    split_region_prefix,
)
from govern.providers.eventstream import EventMessage, EventStreamDecoder, EventStreamError
from govern.transport import Transport, TransportError, TransportTimeout, UpstreamResponse, fetch
from govern.usage import Usage
from govern.wire.openai import ChatCompletionChunk, ChatCompletionRequest, EmbeddingRequest

__all__ = [
    "INSTALL_HINT",
    "STREAM_EXCEPTION_STATUS",
    "BedrockProvider",
    "BedrockStream",
    "redact",
    "split_region_prefix",
    "status_error",
    "stream_exception",
]

log = logging.getLogger(__name__)

EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"


class BedrockProvider:
    """Bedrock through the Converse API, signed with SigV4."""

    def __init__(self, name: str, config: ProviderConfig, transport: Transport):
        botocore_classes()
        self.name = name
        self.config = config
        self.transport = transport
        self._timeouts = timeouts_for(config)
        self._signers: dict[tuple[str | None, ...], KeySigner] = {}
        self._lock = asyncio.Lock()

    # --- credentials and URLs ------------------------------------------------------------

    def region_for(self, key: ProviderKey) -> str:
        """The region a key signs for: the key's, the provider's, the environment's."""
        return (
            key.region
            or self.config.region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )

    async def _signer(self, key: ProviderKey) -> KeySigner:
        cache_key = (
            key.name,
            key.aws_access_key_id,
            key.aws_secret_access_key,
            key.aws_session_token,
            key.region,
        )
        signer = self._signers.get(cache_key)
        if signer is not None:
            return signer
        async with self._lock:
            signer = self._signers.get(cache_key)
            if signer is None:
                signer = KeySigner(key, self.region_for(key), await self._credentials(key))
                self._signers[cache_key] = signer
        return signer

    async def _credentials(self, key: ProviderKey) -> Any:
        _, _, credentials_class = botocore_classes()
        key_id, secret = key.aws_access_key_id, key.aws_secret_access_key
        if key_id and secret:
            return credentials_class(key_id, secret, key.aws_session_token)
        if key_id or secret:
            raise self._no_credentials(
                key, "it sets only one of aws_access_key_id and aws_secret_access_key"
            )
        # The default chain may read files and query metadata endpoints: off the loop.
        found = await asyncio.to_thread(default_chain_credentials)
        if found is None:
            raise self._no_credentials(key, "the default AWS credential chain found none")
        return found

    def _no_credentials(self, key: ProviderKey, why: str) -> UpstreamStatusError:
        return UpstreamStatusError(
            f"{self.name}: no AWS credentials for key {key.name!r}: {why}",
            provider=self.name,
            upstream_status=403,
            code="MissingAuthenticationToken",
        )

    def _url(self, region: str, model: str, operation: str) -> str:
        base = self.config.base_url or f"https://bedrock-runtime.{region}.amazonaws.com"
        url = f"{base.rstrip('/')}/model/{quote(model, safe='')}/{operation}"
        # Sign exactly the URL that goes on the wire: aiohttp (yarl) rewrites `%3A` to
        # `:` in paths, and AWS derives the canonical URI from the path as received.
        return str(yarl.URL(url))

    async def _prepare(
        self, call: Call, operation: str, body: bytes
    ) -> tuple[str, dict[str, str], list[str]]:
        """The URL, signed headers and secrets-to-redact for one call."""
        signer = await self._signer(call.key)
        url = self._url(signer.region, call.model, operation)
        headers = {**self.config.headers, "Content-Type": "application/json"}
        signed, secrets = await signer.sign(url, body, headers)
        return url, signed, secrets

    def _body(self, request: ChatCompletionRequest, call: Call) -> bytes:
        if call.extra_body:
            log.debug("%s: dropping unknown request fields %s", self.name, sorted(call.extra_body))
        converse = converse_request(
            request, provider=self.name, default_max_tokens=self.config.default_max_tokens
        )
        return msgspec.json.encode(converse)

    # --- calls ---------------------------------------------------------------------------

    async def chat(self, request: ChatCompletionRequest, call: Call) -> ChatResult:
        """A Converse call, translated to an OpenAI completion."""
        body = self._body(request, call)
        url, headers, secrets = await self._prepare(call, "converse", body)
        try:
            status, response_headers, raw = await fetch(
                self.transport, "POST", url, headers=headers, body=body, timeouts=self._timeouts
            )
        except TransportError as exc:
            raise transport_failure(exc, self.name) from None
        if status != 200:
            raise status_error(self.name, status, response_headers, raw, secrets)
        try:
            response = msgspec.json.decode(raw, type=bw.ConverseResponse)
        except msgspec.DecodeError as exc:
            raise UpstreamUnavailable(
                f"{self.name} sent an undecodable Converse response: {exc}", provider=self.name
            ) from None
        completion, usage = completion_from_converse(
            response, model=call.model, response_id=_response_id(response_headers)
        )
        return ChatResult(completion=completion, usage=usage)

    async def stream(self, request: ChatCompletionRequest, call: Call) -> BedrockStream:
        """A ConverseStream call; returns once Bedrock accepted it."""
        body = self._body(request, call)
        url, headers, secrets = await self._prepare(call, "converse-stream", body)
        try:
            async with asyncio.timeout(self._timeouts.total):
                response = await self.transport.send(
                    "POST", url, headers=headers, body=body, timeouts=self._timeouts
                )
        except TimeoutError:
            raise transport_failure(
                TransportTimeout(f"no answer within {self._timeouts.total:g} s"), self.name
            ) from None
        except TransportError as exc:
            raise transport_failure(exc, self.name) from None
        if response.status != 200:
            try:
                async with asyncio.timeout(self._timeouts.total):
                    raw = await response.read()
            except (TransportError, TimeoutError):
                raw = b""
            finally:
                await response.aclose()
            raise status_error(self.name, response.status, response.headers, raw, secrets)
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith(EVENTSTREAM_TYPE):
            await response.aclose()
            raise UpstreamUnavailable(
                f"{self.name} answered a stream request with {content_type or 'no'} "
                f"content type, not {EVENTSTREAM_TYPE}",
                provider=self.name,
            )
        translator = StreamTranslator(
            provider=self.name, model=call.model, response_id=_response_id(response.headers)
        )
        return BedrockStream(response, translator, secrets)

    async def embed(self, request: EmbeddingRequest, call: Call) -> EmbeddingResult:
        """Not offered: Converse has no embeddings (400)."""
        raise unsupported(self.name, "embeddings")

    async def aclose(self) -> None:
        """Nothing of its own to release (the transport is shared)."""
        self._signers.clear()


class BedrockStream:
    """An open ConverseStream: event-stream frames in, OpenAI chunks out."""

    def __init__(
        self, response: UpstreamResponse, translator: StreamTranslator, secrets: list[str]
    ):
        self._response = response
        self._translator = translator
        self._secrets = secrets
        self.provider = translator.provider
        self.usage: Usage | None = None

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ChatCompletionChunk]:
        decoder = EventStreamDecoder()
        try:
            async for data in self._response.iter_bytes():
                for message in decoder.feed(data):
                    chunk = self._handle(message)
                    if chunk is not None:
                        yield chunk
            if decoder.pending:
                raise UpstreamUnavailable(
                    f"{self.provider} stream ended inside an event", provider=self.provider
                )
            if not self._translator.finished:
                missing = "metadata" if self._translator.stopped else "messageStop"
                raise UpstreamUnavailable(
                    f"{self.provider} stream ended before its {missing} event",
                    provider=self.provider,
                )
        except TransportError as exc:
            raise transport_failure(exc, self.provider) from None
        except EventStreamError as exc:
            raise UpstreamUnavailable(
                f"{self.provider} sent a malformed event stream: {exc}", provider=self.provider
            ) from None
        finally:
            await self._response.aclose()

    def _handle(self, message: EventMessage) -> ChatCompletionChunk | None:
        kind = message.header(":message-type") or "event"
        if kind == "event":
            chunk = self._translator.event(message.header(":event-type") or "", message.payload)
            self.usage = self._translator.usage
            return chunk
        raise stream_exception(self.provider, message, self._secrets)

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self._response.aclose()


def _response_id(headers: Mapping[str, str]) -> str:
    request_id = headers.get("x-amzn-requestid")
    return "chatcmpl-" + (request_id or uuid.uuid4().hex)
