"""Simulated Bedrock runtime: `POST /model/{modelId}/converse` and `/converse-stream`.

Requests must be SigV4-signed for service `bedrock` with a credential in
`SimSettings.aws_credentials` (see govern.sim.sigv4); bodies are validated as Converse
validates them (alternating roles starting with a user turn, no blank text, tool blocks
only with a `toolConfig`, parameter ranges) and answered by the sim engine. Streams are
binary `application/vnd.amazon.eventstream` frames, padded with a `p` member as Bedrock
pads them.

Faults: `status` answers with Bedrock's error body and `x-amzn-ErrorType`; on a stream,
`status` together with `cut_after` sends that many events and then an exception event
(`throttlingException` for 429, ...), which is how Bedrock fails a stream midway.
`cut_after` alone drops the connection; `malformed` sends a frame with a bad checksum
(streams) or a body that is not JSON.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from govern.providers import bedrock_wire as bw
from govern.providers.eventstream import encode_message
from govern.sim import engine
from govern.sim.bedrock_checks import converse_errors, converse_prompt
from govern.sim.sigv4 import access_key_id, verify

if TYPE_CHECKING:
    from govern.sim.server import Fault, SimUpstream

ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}

STREAM_EXCEPTIONS = {
    400: "validationException",
    408: "modelTimeoutException",
    424: "modelStreamErrorException",
    429: "throttlingException",
    500: "internalServerException",
    503: "serviceUnavailableException",
}

EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def render_error(status: int, message: str, error_type: str | None = None) -> web.Response:
    """A Bedrock error response: `{"message": ...}` and the `x-amzn-ErrorType` header."""
    kind = error_type or ERROR_TYPES.get(
        status, "InternalServerException" if status >= 500 else "ValidationException"
    )
    return web.Response(
        status=status,
        body=msgspec.json.encode(bw.ErrorBody(message=message)),
        content_type="application/json",
        headers={
            "x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "x-amzn-RequestId": str(uuid.uuid4()),
        },
    )


def add_routes(app: web.Application, sim: SimUpstream) -> None:
    """Register the Bedrock runtime routes on the simulated upstream."""

    async def converse(request: web.Request) -> web.StreamResponse:
        return await _handle(request, sim, stream=False)

    async def converse_stream(request: web.Request) -> web.StreamResponse:
        return await _handle(request, sim, stream=True)

    app.router.add_post("/model/{model_id}/converse", converse)
    app.router.add_post("/model/{model_id}/converse-stream", converse_stream)


async def _handle(request: web.Request, sim: SimUpstream, *, stream: bool) -> web.StreamResponse:
    started = time.monotonic()
    body = await request.read()
    model = request.match_info["model_id"]
    early, fault = await sim.before_answer(
        request, "bedrock", model, access_key_id(request.headers), body, render_error
    )
    midway = (
        stream and fault is not None and fault.status is not None and (fault.cut_after is not None)
    )
    if early is not None and not midway:
        return early
    failure = verify(
        method=request.method,
        raw_path=request.raw_path,
        headers=request.headers,
        body=body,
        credentials=sim.settings.aws_credentials,
        service="bedrock",
    )
    if failure is not None:
        return render_error(failure.status, failure.message, failure.error_type)
    try:
        converse = msgspec.json.decode(body, type=bw.ConverseRequest)
    except msgspec.ValidationError as exc:
        return render_error(400, f"1 validation error detected: {exc}")
    except msgspec.DecodeError:
        return render_error(
            400,
            "Malformed input request, please reformat your input and try again.",
            "SerializationException",
        )
    errors = converse_errors(converse)
    if errors:
        return render_error(400, errors)
    reply, stop_reason, usage = _answer(converse, sim.settings.default_output_tokens)
    if not stream:
        if fault is not None and fault.malformed:
            return web.Response(
                status=200, body=b'{"output": {"message": ', content_type="application/json"
            )
        latency = int((time.monotonic() - started) * 1000)
        return web.Response(
            body=msgspec.json.encode(
                bw.ConverseResponse(
                    output=bw.ConverseOutput(
                        message=bw.Message(role="assistant", content=_content(reply))
                    ),
                    stop_reason=stop_reason,
                    usage=usage,
                    metrics=bw.Metrics(latency_ms=latency),
                )
            ),
            content_type="application/json",
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )
    return await _stream(request, sim, fault, _events(reply, stop_reason, usage), started)


def _answer(
    converse: bw.ConverseRequest, default_limit: int
) -> tuple[engine.SimReply, str, bw.TokenUsage]:
    prompt = converse_prompt(converse)
    config = converse.inference_config or bw.InferenceConfig()
    reply = engine.generate(
        prompt_text=prompt.text,
        limit=config.max_tokens,
        default_limit=default_limit,
        stop=config.stop_sequences,
        tools=prompt.tools,
        forced_tool=prompt.forced_tool,
        last_user_text=prompt.last_user_text,
    )
    planned = config.max_tokens if config.max_tokens is not None else default_limit
    if reply.tool_call is not None:
        stop_reason = "tool_use"
    elif reply.finish_reason == "length":
        stop_reason = "max_tokens"
    elif config.stop_sequences and reply.output_tokens < planned:
        stop_reason = "stop_sequence"
    else:
        stop_reason = "end_turn"
    usage = bw.TokenUsage(
        input_tokens=prompt.tokens,
        output_tokens=reply.output_tokens,
        total_tokens=prompt.tokens + reply.output_tokens,
    )
    return reply, stop_reason, usage


def _tool_use_id(call: engine.SimToolCall) -> str:
    return "tooluse_" + call.id.removeprefix("call_")


def _content(reply: engine.SimReply) -> list[bw.ContentBlock]:
    call = reply.tool_call
    if call is not None:
        return [
            bw.ContentBlock(
                tool_use=bw.ToolUseBlock(
                    tool_use_id=_tool_use_id(call),
                    name=call.name,
                    input=msgspec.Raw(call.arguments.encode()),
                )
            )
        ]
    return [bw.ContentBlock(text=reply.text)] if reply.text else []


def _events(
    reply: engine.SimReply, stop_reason: str, usage: bw.TokenUsage
) -> list[tuple[str, msgspec.Struct]]:
    """The stream's events in order (metadata's latency is filled in when sent)."""
    events: list[tuple[str, msgspec.Struct]] = [
        ("messageStart", bw.MessageStartEvent(role="assistant")),
    ]
    call = reply.tool_call
    if call is not None:
        events.append(
            (
                "contentBlockStart",
                bw.ContentBlockStartEvent(
                    start=bw.ContentBlockStart(
                        tool_use=bw.ToolUseStart(tool_use_id=_tool_use_id(call), name=call.name)
                    ),
                    content_block_index=0,
                ),
            )
        )
        # Bedrock streams tool input as JSON fragments; split it to show that.
        half = len(call.arguments) // 2
        for fragment in (call.arguments[:half], call.arguments[half:]):
            events.append(
                (
                    "contentBlockDelta",
                    bw.ContentBlockDeltaEvent(
                        delta=bw.ContentBlockDelta(tool_use=bw.ToolUseDelta(input=fragment)),
                        content_block_index=0,
                    ),
                )
            )
    else:
        events.extend(
            (
                "contentBlockDelta",
                bw.ContentBlockDeltaEvent(
                    delta=bw.ContentBlockDelta(text=word), content_block_index=0
                ),
            )
            for word in reply.words
        )
    events.append(("contentBlockStop", bw.ContentBlockStopEvent(content_block_index=0)))
    events.append(("messageStop", bw.MessageStopEvent(stop_reason=stop_reason)))
    events.append(("metadata", bw.MetadataEvent(usage=usage, metrics=bw.Metrics(latency_ms=0))))
    return events


def _frame(index: int, event_type: str, event: msgspec.Struct) -> bytes:
    padded = msgspec.structs.replace(event, p=_PADDING[: 1 + (index * 7) % len(_PADDING)])
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        msgspec.json.encode(padded),
    )


def _exception_frame(status: int, message: str) -> bytes:
    return encode_message(
        {
            ":exception-type": STREAM_EXCEPTIONS.get(status, "internalServerException"),
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        msgspec.json.encode(bw.StreamErrorEvent(message=message)),
    )


async def _stream(
    request: web.Request,
    sim: SimUpstream,
    fault: Fault | None,
    events: list[tuple[str, msgspec.Struct]],
    started: float,
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={"Content-Type": EVENTSTREAM_TYPE, "x-amzn-RequestId": str(uuid.uuid4())},
    )
    await response.prepare(request)
    interval = sim.settings.chunk_interval_ms / 1000
    cut_after = fault.cut_after if fault is not None else None
    for i, (event_type, event) in enumerate(events):
        if cut_after is not None and i >= cut_after:
            assert fault is not None
            if fault.status is not None:
                await response.write(_exception_frame(fault.status, fault.message))
                await response.write_eof()
            elif request.transport is not None:
                request.transport.abort()
            return response
        if interval and i:
            await asyncio.sleep(interval)
        if isinstance(event, bw.MetadataEvent):
            latency = int((time.monotonic() - started) * 1000)
            event = msgspec.structs.replace(event, metrics=bw.Metrics(latency_ms=latency))
        frame = _frame(i, event_type, event)
        if fault is not None and fault.malformed and i == 1:
            # A whole frame whose message checksum is wrong.
            frame = frame[:-4] + bytes(b ^ 0xFF for b in frame[-4:])
        await response.write(frame)
    await response.write_eof()
    return response
