"""Anthropic's error bodies and error types, and validation messages in its style."""

from __future__ import annotations

import re

import msgspec
from msgspec import Struct


class ErrorDetail(Struct, kw_only=True):
    """What went wrong: an error type (`invalid_request_error`, ...) and a message."""

    type: str
    message: str


class ErrorResponse(Struct, tag_field="type", tag="error", kw_only=True, omit_defaults=True):
    """`{"type": "error", "error": {...}}`: an error body, and the stream's `error` event."""

    error: ErrorDetail
    request_id: str | None = None


ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
"""Anthropic's error type for each HTTP status it documents."""

STATUS_BY_ERROR_TYPE: dict[str, int] = {v: k for k, v in ERROR_TYPE_BY_STATUS.items()}
"""The HTTP status an error type stands for (for `error` events inside a stream)."""


def error_type_for_status(status: int) -> str:
    """Anthropic's error type for an HTTP status (`api_error` for unlisted 5xx)."""
    known = ERROR_TYPE_BY_STATUS.get(status)
    if known is not None:
        return known
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, message: str, request_id: str | None = None) -> ErrorResponse:
    """The error body Anthropic sends with `status`."""
    return ErrorResponse(
        error=ErrorDetail(type=error_type_for_status(status), message=message),
        request_id=request_id,
    )


_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `([^`]+)`$")
_INDEX = re.compile(r"\[(\d+)\]")


def validation_message(exc: msgspec.ValidationError) -> str:
    """A msgspec validation error in Anthropic's style: `messages.0.content: <problem>`."""
    text = str(exc)
    match = _AT.search(text)
    path = _INDEX.sub(r".\1", match.group(1)) if match else ""
    problem = _AT.sub("", text)
    missing = _MISSING.match(problem)
    if missing:
        field = f"{path}.{missing.group(1)}" if path else missing.group(1)
        return f"{field}: Field required"
    return f"{path}: {problem}" if path else problem
