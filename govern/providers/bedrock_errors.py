"""Gateway errors for Bedrock's error responses and in-stream exceptions, secrets redacted."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import msgspec

from govern.errors import UpstreamError, UpstreamStatusError
from govern.providers import bedrock_wire as bw
from govern.providers.base import retry_after_seconds
from govern.providers.eventstream import EventMessage

# The provider's logger: one name configures all of Bedrock's messages.
log = logging.getLogger("govern.providers.bedrock")

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
