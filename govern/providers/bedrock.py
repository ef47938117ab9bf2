"""The `bedrock` provider: AWS Bedrock's Converse and ConverseStream APIs.

Requests are signed with SigV4 by botocore (the `[bedrock]` extra, imported when the
provider is built). Credentials come from the key (`aws_access_key_id`,
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
from govern.errors import ConfigError, UpstreamError, UpstreamStatusError, UpstreamUnavailable
from govern.providers import bedrock_wire as bw
from govern.providers.base import (
    Call,
    ChatResult,
    EmbeddingResult,
    retry_after_seconds,
    timeouts_for,
    transport_failure,
    unsupported,
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

__all__ = ["BedrockProvider", "BedrockStream", "split_region_prefix"]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'govern[bedrock]'"
EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"

# `:exception-type` of stream exception events -> the HTTP status the same error has
# when Bedrock reports it before the stream starts.
STREAM_EXCEPTION_STATUS = {
    "validationException": 400,
    "throttlingException": 429,
    "modelStreamErrorException": 424,
    "modelTimeoutException": 408,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
}


def _botocore() -> tuple[Any, Any, Any]:
    """botocore's signer, request and credentials classes, or ConfigError naming the extra."""
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise ConfigError(
            f"the bedrock provider needs botocore and boto3: {INSTALL_HINT}"
        ) from None
    auth_log = logging.getLogger("botocore.auth")
    if auth_log.level == logging.NOTSET:
        # botocore logs each canonical request at DEBUG, session token included; keep
        # secrets out of the gateway's logs unless someone asked for that logger by name.
        auth_log.setLevel(logging.INFO)
    return SigV4Auth, AWSRequest, Credentials


class _KeySigner:
    """Signs requests with one key's credentials in its region."""

    def __init__(self, key: ProviderKey, region: str, credentials: Any):
        self.key_name = key.name
        self.region = region
        self._credentials = credentials
        self._sigv4, self._request_class, _ = _botocore()

    async def frozen(self) -> Any:
        """A consistent (access key, secret, token) snapshot, refreshed if due."""
        refresh_needed = getattr(self._credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            # Refreshing may call STS, SSO or the instance metadata service: not on the loop.
            return await asyncio.to_thread(self._credentials.get_frozen_credentials)
        return self._credentials.get_frozen_credentials()

    async def sign(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[dict[str, str], list[str]]:
        """The headers to send (with `Authorization`), and the secrets to keep out of text."""
        creds = await self.frozen()
        request = self._request_class(method="POST", url=url, data=body, headers=dict(headers))
        self._sigv4(creds, "bedrock", self.region).add_auth(request)
        secrets = [s for s in (creds.secret_key, creds.token) if s]
        return dict(request.headers.items()), secrets


class BedrockProvider:
    """Bedrock through the Converse API, signed with SigV4."""

    def __init__(self, name: str, config: ProviderConfig, transport: Transport):
        _botocore()
        self.name = name
        self.config = config
        self.transport = transport
        self._timeouts = timeouts_for(config)
        self._signers: dict[tuple[str | None, ...], _KeySigner] = {}
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

    async def _signer(self, key: ProviderKey) -> _KeySigner:
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
                signer = _KeySigner(key, self.region_for(key), await self._credentials(key))
                self._signers[cache_key] = signer
        return signer

    async def _credentials(self, key: ProviderKey) -> Any:
        _, _, credentials_class = _botocore()
        key_id, secret = key.aws_access_key_id, key.aws_secret_access_key
        if key_id and secret:
            return credentials_class(key_id, secret, key.aws_session_token)
        if key_id or secret:
            raise self._no_credentials(
                key, "it sets only one of aws_access_key_id and aws_secret_access_key"
            )
        # The default chain may read files and query metadata endpoints: off the loop.
        found = await asyncio.to_thread(_default_chain_credentials)
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


# --- errors ------------------------------------------------------------------------------


def status_error(
    provider: str, status: int, headers: Mapping[str, str], body: bytes, secrets: list[str]
) -> UpstreamStatusError:
    """The gateway error for a Bedrock error response (`x-amzn-errortype` + `message`)."""
    error_type = (headers.get("x-amzn-errortype") or "").partition(":")[0] or None
    message: str | None = None
    try:
        parsed = msgspec.json.decode(body, type=bw.ErrorBody)
        message = parsed.message or parsed.Message
    except msgspec.DecodeError:
        pass
    if not message:
        text = body.decode("utf-8", "replace").strip()[:500]
        message = f"{provider} answered HTTP {status}" + (f": {text}" if text else "")
    message = redact(message, secrets)
    summary, _, details = message.partition("\n\n")
    if details:
        # Signature errors append the canonical request; useful in logs, noise for clients.
        log.debug("%s: %s error details: %s", provider, error_type, details)
    return UpstreamStatusError(
        summary.strip(),
        provider=provider,
        upstream_status=status,
        code=error_type,
        retry_after=retry_after_seconds(headers),
    )


def stream_exception(provider: str, message: EventMessage, secrets: list[str]) -> UpstreamError:
    """The gateway error for an exception (or error) message inside a stream."""
    if message.header(":message-type") == "exception":
        name = message.header(":exception-type") or "exception"
        try:
            payload = msgspec.json.decode(message.payload, type=bw.StreamErrorEvent)
            text = payload.message or payload.Message or payload.original_message or name
        except msgspec.DecodeError:
            text = name
        status = STREAM_EXCEPTION_STATUS.get(name, 500)
    else:
        name = message.header(":error-code") or "error"
        text = message.header(":error-message") or name
        status = 500
    error_type = name[:1].upper() + name[1:]
    return UpstreamStatusError(
        redact(f"{provider} stream failed: {error_type}: {text}", secrets),
        provider=provider,
        upstream_status=status,
        code=error_type,
    )


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret replaced (AWS echoes signed headers in some errors)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _response_id(headers: Mapping[str, str]) -> str:
    request_id = headers.get("x-amzn-requestid")
    return "chatcmpl-" + (request_id or uuid.uuid4().hex)


def _default_chain_credentials() -> Any:
    """Credentials from the default AWS chain (boto3's session, else botocore's)."""
    try:
        import boto3

        return boto3.session.Session().get_credentials()
    except ImportError:
        import botocore.session

        return botocore.session.get_session().get_credentials()
