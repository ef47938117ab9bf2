"""The simulated Anthropic upstream: `POST /v1/messages`, streaming and not.

It speaks the real wire format (the official `anthropic` SDK parses it) and validates
like the real API: the credential (`x-api-key`, or `Authorization: Bearer`, which recent
SDKs send), the `anthropic-version` header, the body's schema (unknown fields, a missing
`max_tokens`, value ranges) and the conversation's shape (first turn from the user,
non-empty content, every `tool_use` answered by a `tool_result` in the next turn).
Consecutive turns of one role are accepted, as the real API merges them.

Answers follow the sim engine (`govern.sim.engine`): a token is a word; the answer is
exactly `max_tokens` words (`stop_reason` `max_tokens`) unless a stop sequence cuts it
(`stop_sequence`) or a tool is called (`tool_use`, forced by `tool_choice` `any`/`tool`).
`output_config.format` gets a JSON object of placeholders; a `thinking` config is
validated, but the sim does not think (no thinking blocks).

Prompt caching is emulated: the prompt up to the last `cache_control` breakpoint is
written to the cache (5 min or 1 h by the breakpoint's `ttl`) the first time it is seen
and read from it afterwards; there is no minimum cacheable length and nothing expires.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from govern.sim import engine
from govern.sim.anthropic_rules import SimInvalid, check_request
from govern.sse import encode_event
from govern.wire import anthropic as a

if TYPE_CHECKING:
    from govern.sim.server import Fault, SimUpstream

_encode = msgspec.json.Encoder().encode
_JSON = "application/json"
_CACHE_ENTRIES = 10_000


class _Peek(msgspec.Struct):
    model: str | None = None


def _request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]


def render_error(status: int, message: str) -> web.Response:
    """An error answered the way Anthropic answers it."""
    rid = _request_id()
    return web.Response(
        body=_encode(a.error_body(status, message, rid)),
        status=status,
        content_type=_JSON,
        headers={"request-id": rid},
    )


def credential(request: web.Request) -> str | None:
    """The API key of a request: `x-api-key`, else an `Authorization: Bearer` token."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _peek_model(body: bytes) -> str | None:
    try:
        return msgspec.json.decode(body, type=_Peek).model
    except msgspec.DecodeError:
        return None


# --- what the model sees -----------------------------------------------------------------


def _block_text(block: a.ContentBlock) -> str:
    if isinstance(block, a.TextBlock):
        return block.text
    if isinstance(block, a.ToolUseBlock):
        return f"{block.name} {bytes(block.input).decode()}"
    if isinstance(block, a.ToolResultBlock):
        if isinstance(block.content, str):
            return block.content
        return " ".join(b.text for b in block.content or () if isinstance(b, a.TextBlock))
    return ""


@dataclass(slots=True)
class _Prompt:
    texts: list[str]
    breakpoints: list[tuple[int, int, str]]
    """(tokens so far, hash of the prompt so far, ttl) at each `cache_control`."""


def read_prompt(req: a.MessagesRequest) -> _Prompt:
    """The prompt's texts in order, and its cache breakpoints."""
    prompt = _Prompt(texts=[], breakpoints=[])
    tokens = 0

    def add(text: str, cache: a.CacheControl | None) -> None:
        nonlocal tokens
        if text:
            prompt.texts.append(text)
            tokens += engine.count_tokens(text)
        if cache is not None:
            prompt.breakpoints.append((tokens, hash("\n".join(prompt.texts)), cache.ttl or "5m"))

    for tool in req.tools or ():
        add("", tool.cache_control)
    if isinstance(req.system, str):
        add(req.system, None)
    for block in req.system or ():
        if isinstance(block, a.TextBlock):
            add(block.text, block.cache_control)
    for message in req.messages:
        if isinstance(message.content, str):
            add(message.content, None)
            continue
        for b in message.content:
            add(_block_text(b), getattr(b, "cache_control", None))
    return prompt


def _last_user_text(req: a.MessagesRequest) -> str | None:
    last = req.messages[-1]
    if last.role != "user":
        return None
    if isinstance(last.content, str):
        return last.content
    texts = [b.text for b in last.content if isinstance(b, a.TextBlock)]
    return " ".join(texts) or None


def generate(req: a.MessagesRequest, prompt: _Prompt, default_limit: int) -> engine.SimReply:
    """The sim engine's answer to a Messages request."""
    tools = [engine.SimTool(name=t.name, schema=bytes(t.input_schema)) for t in req.tools or ()]
    forced: str | None = None
    choice = req.tool_choice
    if isinstance(choice, a.ToolChoiceNone):
        tools = []
    elif isinstance(choice, a.ToolChoiceAny):
        forced = "*"
    elif isinstance(choice, a.ToolChoiceTool):
        forced = choice.name
    fmt = req.output_config.format if req.output_config else None
    return engine.generate(
        prompt_text="\n".join(prompt.texts),
        limit=req.max_tokens,
        default_limit=default_limit,
        stop=req.stop_sequences,
        tools=tools,
        forced_tool=forced,
        last_user_text=_last_user_text(req),
        json_schema=(bytes(fmt.schema) or b"{}") if fmt is not None else None,
    )


def _stop(
    req: a.MessagesRequest, reply: engine.SimReply, uncut: str
) -> tuple[a.StopReason, str | None]:
    if reply.tool_call is not None:
        return "tool_use", None
    if reply.finish_reason == "length":
        return "max_tokens", None
    found = [(uncut.find(s), s) for s in req.stop_sequences or () if s and s in uncut]
    if found and len(reply.text) < len(uncut):
        return "stop_sequence", min(found)[1]
    return "end_turn", None


# --- the answer --------------------------------------------------------------------------


@dataclass(slots=True)
class _Answer:
    message: a.Message
    reply: engine.SimReply


class _PromptCache:
    """Which prompt prefixes were cached, for the emulated prompt caching."""

    def __init__(self) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()

    def usage(self, prompt: _Prompt) -> tuple[int, int, str]:
        """(tokens read from the cache, tokens written to it, ttl of the write)."""
        if not prompt.breakpoints:
            return 0, 0, "5m"
        read = max((t for t, key, _ in prompt.breakpoints if key in self._seen), default=0)
        last_tokens, _, ttl = prompt.breakpoints[-1]
        for _, key, _ in prompt.breakpoints:
            self._seen[key] = None
            self._seen.move_to_end(key)
        while len(self._seen) > _CACHE_ENTRIES:
            self._seen.popitem(last=False)
        return read, max(0, last_tokens - read), ttl


def answer(req: a.MessagesRequest, cache: _PromptCache, default_limit: int) -> _Answer:
    """The complete sim answer to a valid request."""
    prompt = read_prompt(req)
    reply = generate(req, prompt, default_limit)
    uncut = reply.text
    if req.stop_sequences and reply.tool_call is None:
        uncut = generate(
            msgspec.structs.replace(req, stop_sequences=None), prompt, default_limit
        ).text
    stop_reason, stop_sequence = _stop(req, reply, uncut)
    content: list[a.ResponseBlock] = []
    if reply.tool_call is not None:
        call = reply.tool_call
        content.append(
            a.ToolUseBlock(
                id="toolu_" + call.id.removeprefix("call_"),
                name=call.name,
                input=msgspec.Raw(call.arguments.encode()),
            )
        )
    elif reply.text:
        content.append(a.TextBlock(text=reply.text))
    total = sum(engine.count_tokens(t) for t in prompt.texts)
    read, written, ttl = cache.usage(prompt)
    usage = a.MessageUsage(
        input_tokens=total - read - written,
        output_tokens=reply.output_tokens,
        cache_creation_input_tokens=written,
        cache_read_input_tokens=read,
        cache_creation=a.CacheCreation(
            ephemeral_5m_input_tokens=0 if ttl == "1h" else written,
            ephemeral_1h_input_tokens=written if ttl == "1h" else 0,
        ),
        service_tier="standard",
    )
    message = a.Message(
        id="msg_" + uuid.uuid4().hex[:24],
        model=req.model,
        content=content,
        usage=usage,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
    )
    return _Answer(message=message, reply=reply)


def stream_events(ans: _Answer) -> list[bytes]:
    """The SSE events of a streamed answer, as the real API sends them."""
    msg = ans.message
    start_usage = msgspec.structs.replace(msg.usage, output_tokens=min(1, msg.usage.output_tokens))
    skeleton = msgspec.structs.replace(
        msg, content=[], stop_reason=None, stop_sequence=None, usage=start_usage
    )
    events = [_event(a.MessageStartEvent(message=skeleton))]
    for index, block in enumerate(msg.content):
        if isinstance(block, a.ToolUseBlock):
            opening: a.ResponseBlock = msgspec.structs.replace(block, input=msgspec.Raw(b"{}"))
            raw = bytes(block.input).decode()
            half = len(raw) // 2
            deltas: list[a.BlockDelta] = [
                a.InputJSONDelta(partial_json=p) for p in ("", raw[:half], raw[half:])
            ]
        else:
            opening = a.TextBlock(text="")
            deltas = [a.TextDelta(text=w) for w in ans.reply.words]
        events.append(_event(a.ContentBlockStartEvent(index=index, content_block=opening)))
        if index == 0:
            events.append(_event(a.PingEvent()))
        events.extend(_event(a.ContentBlockDeltaEvent(index=index, delta=d)) for d in deltas)
        events.append(_event(a.ContentBlockStopEvent(index=index)))
    final = a.MessageUsage(output_tokens=msg.usage.output_tokens)
    delta = a.MessageDelta(stop_reason=msg.stop_reason, stop_sequence=msg.stop_sequence)
    events.append(_event(a.MessageDeltaEvent(delta=delta, usage=final)))
    events.append(_event(a.MessageStopEvent()))
    return events


def _event(event: a.StreamEvent) -> bytes:
    name = type(event).__struct_config__.tag
    return encode_event(str(name), _encode(event))


_BROKEN_EVENT = (
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {\n\n'
)


async def _send_stream(
    request: web.Request, events: list[bytes], fault: Fault | None, interval: float
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "request-id": _request_id(),
        },
    )
    await response.prepare(request)
    if fault is not None and fault.malformed:
        events = [*events[:2], _BROKEN_EVENT]
    for i, event in enumerate(events):
        if fault is not None and fault.cut_after is not None and i >= fault.cut_after:
            # Drop the connection mid-body, as a failing upstream or proxy would.
            if request.transport is not None:
                request.transport.close()
            return response
        if interval and i:
            await asyncio.sleep(interval)
        await response.write(event)
    await response.write_eof()
    return response


def add_routes(app: web.Application, sim: SimUpstream) -> None:
    """Register `POST /v1/messages` on the simulated upstream."""
    cache = _PromptCache()

    async def messages(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        key = credential(request)
        early, fault = await sim.before_answer(
            request, "anthropic", _peek_model(body), key, body, render_error
        )
        if early is not None:
            return early
        if not key:
            return render_error(401, "x-api-key header is required")
        if sim.settings.api_keys is not None and key not in sim.settings.api_keys:
            return render_error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return render_error(400, "anthropic-version: header is required")
        try:
            req = check_request(body)
        except SimInvalid as exc:
            return render_error(400, exc.message)
        ans = answer(req, cache, sim.settings.default_output_tokens)
        if req.stream:
            interval = sim.settings.chunk_interval_ms / 1000
            return await _send_stream(request, stream_events(ans), fault, interval)
        if fault is not None and fault.malformed:
            return web.Response(body=b'{"id": "msg_', content_type=_JSON)
        return web.Response(
            body=_encode(ans.message), content_type=_JSON, headers={"request-id": _request_id()}
        )

    app.router.add_post("/v1/messages", messages)
