"""The HTTP protocol uvicorn serves the gateway with: httptools, one send per answer.

uvicorn writes a response's head as soon as the app starts it and the body as a second
write, so a small JSON answer costs two `send` syscalls, each of which runs the loopback
TCP stack and wakes the client (about 20 µs here). `CorkedTransport` holds a write until
the end of the event-loop step, and sends it with the next write if one comes first: the
head and the body of an answer leave in one segment, as soon as the body is written; a
stream's later events still leave as they are written.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any


class CorkedTransport:
    """A transport that holds a write until the next one or the end of the loop step."""

    __slots__ = ("_handle", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._handle: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        """Hold `data` until the end of the current event-loop step, or send it at once
        with the write held before it (a head, then its body: the answer is complete)."""
        if self._transport.is_closing():
            # As uvloop's own write does: the sender learns the client is gone (a stream
            # stops and is recorded as cut short) instead of writing into the void.
            raise ConnectionResetError("the client closed the connection")
        held = self._held
        if held is None:
            self._held = data
            self._handle = self._loop.call_soon(self.flush)
            return
        self._held = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._send(held + data)

    def flush(self) -> None:
        """Send the held write now."""
        held = self._held
        if held is not None:
            self._held = None
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            self._send(held)

    def _send(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, lines: list[bytes]) -> None:
        """Queue each of `lines`."""
        for line in lines:
            self.write(line)

    def close(self) -> None:
        """Send what is queued, then close."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> Any:
    """What to pass as uvicorn's `http`: the corked httptools protocol, else `h11`."""
    if importlib.util.find_spec("httptools") is None:
        return "h11"
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CorkedHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol writing through a `CorkedTransport`."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport = CorkedTransport(transport, self.loop)  # type: ignore[assignment]

    return CorkedHttpToolsProtocol
