"""Anthropic SSE for the gateway's own Anthropic endpoint, built from OpenAI chunks.

The pipeline yields OpenAI content chunks and a final usage chunk; Anthropic clients want
`message_start`, one `content_block_start`/`delta`/`stop` run per text or tool-use block,
`message_delta` (stop reason and usage) and `message_stop`. The input usage is only
known at the end, so `message_start` carries zeros and `message_delta` the totals (the
SDK's accumulator takes both from `message_delta`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable

import msgspec

from govern.errors import GovernError
from govern.inbound.anthropic import error_event, usage_from_openai
from govern.providers.anthropic_mapping import STOP_REASON_BY_FINISH, anthropic_usage
from govern.sse import encode_event
from govern.usage import Usage
from govern.wire import anthropic as a
from govern.wire.openai import ChatCompletionChunk, CompletionUsage

log = logging.getLogger("govern.inbound.anthropic")

_encode = msgspec.json.Encoder().encode
_EMPTY_INPUT = msgspec.Raw(b"{}")


def _event(event: a.StreamEvent) -> bytes:
    return encode_event(str(event.__struct_config__.tag), _encode(event))


class _StreamWriter:
    """Turns OpenAI chunks into Anthropic events, one content block at a time."""

    def __init__(self, model: str | None):
        self.model = model
        self.started = False
        self.next_index = 0
        self.open: int | None = None
        self.open_is_text = False
        self.tools: dict[int, int] = {}
        self.finish: str | None = None
        self.usage: CompletionUsage | None = None

    def start(self, message_id: str, model: str) -> list[bytes]:
        self.started = True
        skeleton = a.Message(
            id=message_id,
            model=self.model or model,
            content=[],
            usage=a.MessageUsage(input_tokens=0, output_tokens=0),
        )
        return [_event(a.MessageStartEvent(message=skeleton))]

    def close(self) -> list[bytes]:
        if self.open is None:
            return []
        index, self.open = self.open, None
        return [_event(a.ContentBlockStopEvent(index=index))]

    def open_block(self, block: a.ResponseBlock) -> list[bytes]:
        events = self.close()
        self.open, self.open_is_text = self.next_index, isinstance(block, a.TextBlock)
        self.next_index += 1
        events.append(_event(a.ContentBlockStartEvent(index=self.open, content_block=block)))
        return events

    def feed(self, chunk: ChatCompletionChunk) -> list[bytes]:
        events = [] if self.started else self.start(chunk.id, chunk.model)
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                if self.open is None or not self.open_is_text:
                    events += self.open_block(a.TextBlock(text=""))
                text = a.TextDelta(text=delta.content)
                events.append(
                    _event(a.ContentBlockDeltaEvent(index=self.next_index - 1, delta=text))
                )
            for call in delta.tool_calls or ():
                if call.index not in self.tools:
                    fn = call.function
                    block = a.ToolUseBlock(
                        id=call.id or "toolu_" + uuid.uuid4().hex[:24],
                        name=(fn.name if fn else None) or "",
                        input=_EMPTY_INPUT,
                    )
                    events += self.open_block(block)
                    self.tools[call.index] = self.next_index - 1
                if call.function and call.function.arguments:
                    fragment = a.InputJSONDelta(partial_json=call.function.arguments)
                    index = self.tools[call.index]
                    events.append(_event(a.ContentBlockDeltaEvent(index=index, delta=fragment)))
            if choice.finish_reason:
                self.finish = choice.finish_reason
        return events

    def end(self, usage: Usage | None) -> list[bytes]:
        events = [] if self.started else self.start("msg_" + uuid.uuid4().hex[:24], "")
        events += self.close()
        if usage is None and self.usage is not None:
            usage = usage_from_openai(self.usage)
        stop = STOP_REASON_BY_FINISH.get(self.finish or "stop", "end_turn")
        final = anthropic_usage(usage) if usage is not None else a.MessageUsage(output_tokens=0)
        events.append(
            _event(a.MessageDeltaEvent(delta=a.MessageDelta(stop_reason=stop), usage=final))
        )
        events.append(_event(a.MessageStopEvent()))
        return events


async def anthropic_sse(
    chunks: AsyncIterator[ChatCompletionChunk],
    *,
    model: str | None = None,
    usage: Callable[[], Usage | None] | None = None,
) -> AsyncIterator[bytes]:
    """Anthropic SSE bytes for a stream of OpenAI chunks.

    `chunks` yields content chunks, then a usage chunk (`choices == []`). `usage`, when
    given, returns the normalised usage at the end and wins over the usage chunk (it
    keeps cache writes, which OpenAI's usage shape cannot carry). A `GovernError` raised
    by `chunks` ends the stream with an Anthropic `error` event.
    """
    writer = _StreamWriter(model)
    try:
        async for chunk in chunks:
            for event in writer.feed(chunk):
                yield event
    except GovernError as exc:
        log.info("stream failed midway: %s", exc.message)
        yield error_event(exc)
        return
    for event in writer.end(usage() if usage is not None else None):
        yield event
