"""The gateway's exception tree; each error knows its HTTP status and OpenAI error type.

GovernError
├── InvalidRequest            400 invalid_request_error
├── AuthenticationFailed      401 authentication_error
├── PermissionDenied          403 permission_error
├── ModelNotFound             404 not_found_error
├── PayloadTooLarge           413 request_too_large
├── ConfigError               (raised at start-up, never over HTTP)
└── UpstreamError             the provider answered with an error, or not at all
    ├── UpstreamStatusError   provider 4xx/5xx, status passed through for 4xx
    ├── UpstreamTimeout       504 upstream_timeout
    └── UpstreamUnavailable   502 upstream_unavailable (network error, 5xx after retries)
"""

from __future__ import annotations

import msgspec

from govern.wire.openai import ErrorDetail, ErrorResponse


class GovernError(Exception):
    """Base class: an error with an HTTP status and an OpenAI-shaped body."""

    status: int = 500
    type: str = "server_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param

    def to_response(self) -> ErrorResponse:
        """The error as the `{"error": {...}}` wire Struct."""
        return ErrorResponse(
            error=ErrorDetail(
                message=self.message, type=self.type, code=self.code, param=self.param
            )
        )

    def to_json(self) -> bytes:
        """The error body, encoded."""
        return msgspec.json.encode(self.to_response())

    def headers(self) -> dict[str, str]:
        """Extra response headers the error carries (for example `Retry-After`)."""
        return {}


class InvalidRequest(GovernError):
    """The request body or a parameter is malformed or out of range."""

    status = 400
    type = "invalid_request_error"


class AuthenticationFailed(GovernError):
    """No key, or a key the gateway does not know."""

    status = 401
    type = "authentication_error"


class PermissionDenied(GovernError):
    """The key may not use this model or provider."""

    status = 403
    type = "permission_error"


class ModelNotFound(GovernError):
    """No configured provider serves the requested model."""

    status = 404
    type = "not_found_error"


class PayloadTooLarge(GovernError):
    """The request body is over the configured limit."""

    status = 413
    type = "request_too_large"


class ConfigError(GovernError):
    """The configuration is invalid; raised when it is loaded."""

    status = 500
    type = "config_error"


class UpstreamError(GovernError):
    """A provider call failed. `retryable` says whether retries and fallbacks apply."""

    status = 502
    type = "upstream_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        param: str | None = None,
    ):
        super().__init__(message, code=code, param=param)
        self.provider = provider


class UpstreamStatusError(UpstreamError):
    """The provider answered with an HTTP error status.

    4xx statuses pass through to the client with the provider's message. 408, 409, 429
    and 5xx are retryable; once retries and fallbacks are exhausted a 429 is still a 429
    (so the client's own backoff applies) and the others become 502.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        upstream_status: int,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, provider=provider, code=code, param=param)
        self.upstream_status = upstream_status
        self.retry_after = retry_after
        self.retryable = upstream_status in (408, 409, 429) or upstream_status >= 500
        if upstream_status == 429:
            self.status = 429
            self.type = "upstream_rate_limited"
        elif self.retryable:
            self.status = 502
            self.type = "upstream_error"
        else:
            self.status = upstream_status
            self.type = error_type or _TYPE_BY_STATUS.get(upstream_status, "upstream_error")

    def headers(self) -> dict[str, str]:
        """`Retry-After` when the provider gave one on a 429."""
        if self.status == 429 and self.retry_after is not None:
            return {"retry-after": str(max(1, round(self.retry_after)))}
        return {}


_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
}


class UpstreamTimeout(UpstreamError):
    """The provider did not answer within the configured timeout."""

    status = 504
    type = "upstream_timeout"
    retryable = True


class UpstreamUnavailable(UpstreamError):
    """The provider could not be reached, or sent something that is not its protocol."""

    status = 502
    type = "upstream_unavailable"
    retryable = True
