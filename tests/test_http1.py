"""The httptools upstream transport against scripted servers on loopback."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from govern.http1 import HttptoolsTransport
from govern.transport import Timeouts, TransportError, TransportTimeout, fetch

FAST = Timeouts(total=5, connect=2, read=2)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request (head and Content-Length body) from the client."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


class Server:
    """A scripted server: `handler` runs once per connection; counts connections."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None):
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=self.tls)
        port = self._server.sockets[0].getsockname()[1]
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{port}/v1/chat/completions?x=1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


def answer(body: bytes, extra: bytes = b"") -> bytes:
    """A 200 with a Content-Length body."""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@pytest.fixture
async def transport() -> AsyncIterator[HttptoolsTransport]:
    """A transport closed after the test."""
    t = HttptoolsTransport()
    yield t
    await t.aclose()


async def post(transport: HttptoolsTransport, url: str, body: bytes = b"{}") -> bytes:
    """POST and read the whole body."""
    status, _, data = await fetch(
        transport, "POST", url, headers={"Authorization": "Bearer k"}, body=body, timeouts=FAST
    )
    assert status == 200
    return data


async def test_sequential_requests_reuse_one_connection(transport: HttptoolsTransport) -> None:
    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(answer(b'{"ok":true}'))

    async with Server(keep_alive) as server:
        for _ in range(3):
            assert await post(transport, server.url) == b'{"ok":true}'
    assert server.connections == 1


async def test_request_line_headers_and_body_are_sent(transport: HttptoolsTransport) -> None:
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(answer(b"{}"))

    async with Server(record) as server:
        await post(transport, server.url, b'{"model":"m"}')
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions?x=1 HTTP/1.1"
    assert b"Authorization: Bearer k" in lines
    assert any(line.startswith(b"Host: 127.0.0.1:") for line in lines)
    assert body == b'{"model":"m"}'


async def test_chunked_stream_arrives_whole_and_in_order(transport: HttptoolsTransport) -> None:
    events = [b"data: %d\n\n" % i for i in range(50)]

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for event in events:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async with Server(chunked) as server:
        response = await transport.send("POST", server.url, headers={}, body=b"{}", timeouts=FAST)
        received = [piece async for piece in response.iter_bytes()]
        await response.aclose()
    assert b"".join(received) == b"".join(events)


async def test_headers_are_case_insensitive(transport: HttptoolsTransport) -> None:
    async def limited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}")

    async with Server(limited) as server:
        status, headers, _ = await fetch(
            transport, "POST", server.url, headers={}, body=b"{}", timeouts=FAST
        )
    assert (status, headers.get("retry-after")) == (429, "3")


async def test_a_stalled_answer_times_out(transport: HttptoolsTransport) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{")
        await asyncio.sleep(5)

    quick = Timeouts(total=5, connect=2, read=0.2)
    async with Server(stall) as server:
        response = await transport.send("POST", server.url, headers={}, body=b"{}", timeouts=quick)
        with pytest.raises(TransportTimeout):
            await response.read()
        await response.aclose()


async def test_a_connection_closed_mid_body_fails(transport: HttptoolsTransport) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial"')
        await writer.drain()

    async with Server(cut) as server:
        with pytest.raises(TransportError, match="closed the connection"):
            await post(transport, server.url)


async def test_gzip_bodies_are_decoded(transport: HttptoolsTransport) -> None:
    async def zipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(gzip.compress(b'{"zipped":1}'), b"Content-Encoding: gzip\r\n"))

    async with Server(zipped) as server:
        assert await post(transport, server.url) == b'{"zipped":1}'


async def test_a_body_ended_by_closing_the_connection_is_read(
    transport: HttptoolsTransport,
) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"all":"of it"}')
        await writer.drain()

    async with Server(until_close) as server:
        assert await post(transport, server.url) == b'{"all":"of it"}'


async def test_an_interim_answer_is_skipped(transport: HttptoolsTransport) -> None:
    async def early_hints(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + answer(b'{"final":1}'))

    async with Server(early_hints) as server:
        assert await post(transport, server.url) == b'{"final":1}'


async def test_a_header_with_a_line_break_is_refused(transport: HttptoolsTransport) -> None:
    with pytest.raises(TransportError, match="line break"):
        await transport.send(
            "POST",
            "http://127.0.0.1:9/x",
            headers={"Authorization": "Bearer k\r\nX-Injected: 1"},
            body=b"{}",
            timeouts=FAST,
        )


async def test_an_unreachable_upstream_is_a_transport_error(
    transport: HttptoolsTransport,
) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(TransportError, match="could not connect"):
        await post(transport, f"http://127.0.0.1:{port}/x")


async def test_a_stream_released_early_is_not_pooled(transport: HttptoolsTransport) -> None:
    async def long_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await writer.drain()
            await asyncio.sleep(0.3)
            writer.write(b"0\r\n\r\n")

    async with Server(long_stream) as server:
        response = await transport.send("POST", server.url, headers={}, body=b"{}", timeouts=FAST)
        async for _ in response.iter_bytes():
            break
        await response.aclose()
        response = await transport.send("POST", server.url, headers={}, body=b"{}", timeouts=FAST)
        await response.aclose()
    assert server.connections == 2


async def test_a_connection_the_server_closed_is_not_reused(
    transport: HttptoolsTransport,
) -> None:
    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"{}"))
        await writer.drain()
        writer.close()  # keep-alive was implied, but the server hangs up while idle

    async with Server(one_answer) as server:
        await post(transport, server.url)
        await asyncio.sleep(0.05)  # let the close reach the pooled connection
        await post(transport, server.url)
    assert server.connections == 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (its key next to it), made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    where = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(where / "key.pem"), "-out", str(where / "cert.pem")),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return where / "cert.pem"


def _tls_server(certificate: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    return context


async def test_https_requests_verify_the_upstream_and_reuse_the_connection(
    certificate: Path,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await read_request(reader)
            writer.write(answer(b'{"ok": true}'))
            await writer.drain()

    transport = HttptoolsTransport(ssl_context=ssl.create_default_context(cafile=certificate))
    try:
        async with Server(handler, tls=_tls_server(certificate)) as server:
            assert await post(transport, server.url) == b'{"ok": true}'
            assert await post(transport, server.url) == b'{"ok": true}'
            assert server.connections == 1
    finally:
        await transport.aclose()


async def test_an_upstream_certificate_nobody_vouches_for_is_refused(
    certificate: Path, transport: HttptoolsTransport
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with Server(handler, tls=_tls_server(certificate)) as server:
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            await post(transport, server.url)


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
async def test_deflate_bodies_are_decoded_wrapped_or_raw(
    transport: HttptoolsTransport, wbits: int
) -> None:
    packer = zlib.compressobj(wbits=wbits)
    body = packer.compress(b'{"deflated": true}') + packer.flush()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(body, b"Content-Encoding: deflate\r\n"))
        await writer.drain()

    async with Server(handler) as server:
        assert await post(transport, server.url) == b'{"deflated": true}'


async def test_a_corrupt_compressed_body_says_so(transport: HttptoolsTransport) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"\x1f\x8b not gzip at all", b"Content-Encoding: gzip\r\n"))
        await writer.drain()

    async with Server(handler) as server:
        with pytest.raises(TransportError, match="corrupt compressed body"):
            await post(transport, server.url)
