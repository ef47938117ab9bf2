"""Server-sent events: an incremental decoder and the encoder for `data:` lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(slots=True)
class SSEvent:
    """One event: its `event:` name (empty when absent) and joined `data:` lines."""

    event: str
    data: bytes


class SSEDecoder:
    """Feed bytes as they arrive; get back every event they complete."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEvent]:
        """Add bytes; return the events completed by them."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        blocks = buffer.split(b"\n\n")
        self._buffer = blocks.pop()
        events: list[SSEvent] = []
        for block in blocks:
            if block.startswith(b"data: ") and b"\n" not in block:
                # The common case (every OpenAI event): one data line, nothing to parse.
                events.append(SSEvent(event="", data=block[6:]))
                continue
            event = _parse_block(block)
            if event is not None:
                events.append(event)
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an event not yet terminated by a blank line."""
        return self._buffer


def _parse_block(block: bytes) -> SSEvent | None:
    name = ""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        fieldname, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if fieldname == b"data":
            data.append(value)
        elif fieldname == b"event":
            name = value.decode()
    if not data and not name:
        return None
    return SSEvent(event=name, data=b"\n".join(data))


async def iter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[SSEvent]:
    """Decode a byte stream into events; a trailing unterminated event is dropped."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event


def encode_data(payload: bytes) -> bytes:
    """One `data:` event."""
    return b"data: " + payload + b"\n\n"


def encode_event(name: str, payload: bytes) -> bytes:
    """One named event (the Anthropic stream style)."""
    return b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n"


DONE = b"data: [DONE]\n\n"
