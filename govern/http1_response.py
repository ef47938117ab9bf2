"""The answer side of govern's HTTP/1.1 client (govern/http1.py): one response, fed by
its connection's parser callbacks and read by the provider as a whole or as a stream."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

from govern.transport import TransportError, TransportTimeout

if TYPE_CHECKING:
    from govern.http1 import Connection, HttptoolsTransport

HIGH_WATER = 1 << 20
"""Bytes of an unread stream buffered before reading from the socket pauses."""
_NO_HEADERS: Mapping[str, str] = CIMultiDictProxy(CIMultiDict())


class Deflate:
    """`Content-Encoding: deflate`: zlib-wrapped as the RFC says, or raw deflate as some
    servers send it (told apart by the first two bytes, as browsers do)."""

    __slots__ = ("_inner", "_start")

    def __init__(self) -> None:
        self._inner: Any = None
        self._start = b""

    def decompress(self, data: bytes) -> bytes:
        """The decompressed bytes of `data` (none until the first two bytes arrive)."""
        if self._inner is None:
            self._start += data
            if len(self._start) < 2:
                return b""
            data, self._start = self._start, b""
            cmf, flg = data[0], data[1]
            wrapped = cmf & 0x0F == 8 and (cmf * 256 + flg) % 31 == 0
            self._inner = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return bytes(self._inner.decompress(data))

    def flush(self) -> bytes:
        """What is left once the body has ended."""
        if self._inner is None:  # fewer than two bytes: no deflate stream at all
            return b""
        return bytes(self._inner.flush())


class Response:
    """An answer whose head has arrived (or is awaited); implements UpstreamResponse."""

    def __init__(self, pool: HttptoolsTransport, conn: Connection, read_timeout: float):
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._pool = pool
        self._conn = conn
        self._read_timeout = read_timeout
        self.status = 0
        self.headers: Mapping[str, str] = _NO_HEADERS
        self.raw_headers: list[tuple[str, str]] = []
        self._head: asyncio.Future[None] = loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._done = False
        self._error: TransportError | None = None
        self._released = False
        self._interim = False
        self._decoder: Any = None
        self._until_close = False
        self.keep_alive = False
        conn.last_read = time.monotonic()
        self._timer: asyncio.TimerHandle | None = loop.call_later(read_timeout, self._check)

    # --- fed by the connection -------------------------------------------------------------

    def head_done(self, status: int) -> None:
        """The status line and headers have been parsed (`raw_headers` holds them)."""
        if 100 <= status < 200:  # an interim answer (103 Early Hints): the real one follows
            self._interim = True
            self.raw_headers = []
            return
        self.status = status
        headers = CIMultiDict(self.raw_headers)
        self.headers = CIMultiDictProxy(headers)
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)
        elif encoding == "deflate":
            self._decoder = Deflate()
        elif encoding not in ("", "identity"):
            self.fail(TransportError(f"the upstream sent an unsupported encoding {encoding!r}"))
            return
        self._until_close = (
            "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
        )
        if not self._head.done():
            self._head.set_result(None)

    def feed(self, data: bytes) -> None:
        """Body bytes from the parser."""
        if self._decoder is not None:
            try:
                data = self._decoder.decompress(data)
            except zlib.error as exc:
                self.fail(TransportError(f"the upstream sent a corrupt compressed body: {exc}"))
                self._conn.close()
                return
            if not data:
                return
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER:
            self._conn.pause()
        self._wake()

    def complete(self) -> None:
        """The parser reached the end of the answer."""
        if self._interim:
            self._interim = False
            return
        if self._error is not None:  # a body that failed (to decompress) stays failed
            return
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)
        self._done = True
        self._stop_timer()
        self._wake()

    def lost(self, exc: Exception | None) -> None:
        """The connection closed (an answer delimited by its end is then complete)."""
        if self._done:
            return
        if self._head.done() and self._until_close and self._error is None:
            self.complete()  # a body delimited by the end of the connection
            return
        reason = f": {exc}" if exc else ""
        self.fail(TransportError(f"the upstream closed the connection{reason}"))

    def fail(self, error: TransportError) -> None:
        """End the answer with `error` (raised to whoever reads it)."""
        if self._done or self._error is not None:
            return
        self._error = error
        self._stop_timer()
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved: nobody may be waiting any more
        self._wake()

    # --- timers and waiting ----------------------------------------------------------------

    def _check(self) -> None:
        self._timer = None
        if self._done or self._error is not None:
            return
        conn = self._conn
        idle = time.monotonic() - conn.last_read
        if conn.paused or idle < self._read_timeout:
            wait = self._read_timeout if conn.paused else self._read_timeout - idle
            self._timer = self._loop.call_later(wait, self._check)
            return
        self.fail(TransportTimeout("upstream stopped sending"))
        conn.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def wait_head(self) -> None:
        """Wait for the status line and headers."""
        await self._head

    # --- UpstreamResponse ------------------------------------------------------------------

    async def read(self) -> bytes:
        """The whole body."""
        while not self._done:
            if self._error is not None:
                raise self._error
            await self._wait()
        body = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return body

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives: everything buffered so far in one piece (a socket read
        often holds many HTTP chunks, and a stream decoder wants them together)."""
        chunks = self._chunks
        while True:
            if chunks:
                data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._buffered = 0
                self._conn.resume()
                yield data
            elif self._done:
                return
            elif self._error is not None:
                raise self._error
            else:
                await self._wait()

    async def aclose(self) -> None:
        """Release the connection: back to the pool if the body was read to its end."""
        if self._released:
            return
        self._released = True
        self._stop_timer()
        conn = self._conn
        conn.response = None
        if self._done and self._error is None and self.keep_alive:
            conn.resume()
            self._pool.put_back(conn)
        else:
            conn.close()
