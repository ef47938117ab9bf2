"""What the simulated OpenAI upstream sends: errors in OpenAI's and Azure's shapes, answer
bodies, stream events, and the writers that deliver them (faults included).

Streams follow OpenAI exactly: every chunk carries `"usage": null` and a final usage chunk
with `"choices": []` comes only when `stream_options.include_usage` asks for it; Azure
streams open with its `prompt_filter_results` event. This is the benchmark's upstream, so
a stream without pacing or faults is written as one body.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from govern.providers.sim import completion, stream_chunks
from govern.sim.openai_checks import ChatRequest, RequestProblem
from govern.sse import DONE
from govern.usage import Usage
from govern.wire.openai import (
    ChunkChoice,
    CompletionTokensDetails,
    CompletionUsage,
    ErrorDetail,
    ErrorResponse,
    PromptTokensDetails,
)

if TYPE_CHECKING:
    from govern.sim.server import Fault, SimUpstream

encode = msgspec.json.Encoder().encode

_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_USAGE_NULL = b',"usage":null}\n\n'
_AZURE_FILTER_EVENT = (
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":'
    b'[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},'
    b'"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,'
    b'"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}\n\n'
)
_BROKEN_EVENT = b'data: {"id":"chatcmpl-sim","object":"chat.completion.chunk","choices":[{"ind\n\n'
_BROKEN_BODY = b'{"id":"chatcmpl-sim","object":"chat.completion","choices":[{"index":0,"mess'

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


class _UsageChunk(msgspec.Struct, kw_only=True):
    """The last event of a stream that asked for usage; `choices` is always `[]`."""

    id: str
    object: str = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage


class _AzureError(msgspec.Struct, kw_only=True):
    code: str
    message: str


class _AzureErrorResponse(msgspec.Struct, kw_only=True):
    error: _AzureError


# --- errors ------------------------------------------------------------------------------


def openai_error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
) -> web.Response:
    """An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""
    if error_type is None:
        error_type = _ERROR_TYPES.get(status, "server_error")
    if code is None and status != 400:
        code = _ERROR_CODES.get(status)
    body = ErrorResponse(
        error=ErrorDetail(message=message, type=error_type, param=param, code=code)
    )
    return web.Response(status=status, body=encode(body), content_type="application/json")


def azure_error(status: int, message: str) -> web.Response:
    """An error in Azure OpenAI's gateway shape: `{"error": {"code", "message"}}`."""
    body = _AzureErrorResponse(error=_AzureError(code=str(status), message=message))
    return web.Response(status=status, body=encode(body), content_type="application/json")


def problem_response(exc: RequestProblem) -> web.Response:
    """The 400 OpenAI answers for a request it refuses to read."""
    return openai_error(400, exc.message, param=exc.param, code=exc.code)


# --- answers -----------------------------------------------------------------------------


def openai_usage(usage: Usage) -> CompletionUsage:
    """Usage as OpenAI reports it, details included (all zero for the sim)."""
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=0, audio_tokens=0),
        completion_tokens_details=CompletionTokensDetails(
            reasoning_tokens=0,
            audio_tokens=0,
            accepted_prediction_tokens=0,
            rejected_prediction_tokens=0,
        ),
    )


def answer_body(sim: SimUpstream, request: ChatRequest, model: str) -> bytes:
    """The JSON body of a non-streamed chat completion."""
    body, usage = completion(request, model, sim.settings.default_output_tokens)
    body.usage = openai_usage(usage)
    return encode(body)


def stream_events(
    sim: SimUpstream, request: ChatRequest, model: str, *, azure: bool = False
) -> list[bytes]:
    """Every SSE event of a streamed answer, [DONE] excluded."""
    chunks, usage = stream_chunks(request, model, sim.settings.default_output_tokens)
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    events = [_AZURE_FILTER_EVENT] if azure else []
    if include_usage:
        # OpenAI sends `"usage": null` on every chunk once usage is asked for.
        events.extend(b"data: " + encode(c)[:-1] + _USAGE_NULL for c in chunks)
        last = chunks[-1]
        events.append(
            b"data: "
            + encode(
                _UsageChunk(
                    id=last.id,
                    created=last.created,
                    model=last.model,
                    choices=[],
                    usage=openai_usage(usage),
                )
            )
            + b"\n\n"
        )
    else:
        events.extend(b"data: " + encode(c) + b"\n\n" for c in chunks)
    return events


# --- sending -----------------------------------------------------------------------------


async def send_stream(
    request: web.Request, sim: SimUpstream, events: list[bytes], fault: Fault | None
) -> web.StreamResponse:
    """Write a stream's events (paced, broken or cut off as the fault says), then [DONE]."""
    interval = sim.settings.chunk_interval_ms / 1000
    if fault is None and not interval:
        return web.Response(body=b"".join(events) + DONE, headers=_SSE_HEADERS)
    if fault is not None and fault.malformed:
        events.insert(1, _BROKEN_EVENT)
    cut_after = fault.cut_after if fault is not None else None
    response = web.StreamResponse(headers=_SSE_HEADERS)
    await response.prepare(request)
    for i, event in enumerate(events):
        if cut_after is not None and i >= cut_after:
            return drop(request, response)
        if interval and i:
            await asyncio.sleep(interval)
        await response.write(event)
    if cut_after is not None and cut_after <= len(events):
        return drop(request, response)
    await response.write(DONE)
    await response.write_eof()
    return response


def drop(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Close the connection mid-body: the client sees a cut-off stream."""
    if request.transport is not None:
        request.transport.close()
    return response


async def send_whole(request: web.Request, body: bytes, fault: Fault | None) -> web.StreamResponse:
    """Send a JSON body whole, or broken or cut in half as the fault says."""
    if fault is not None and fault.malformed:
        return web.Response(body=_BROKEN_BODY, content_type="application/json")
    if fault is None or fault.cut_after is None:
        return web.Response(body=body, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    return drop(request, response)
