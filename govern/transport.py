"""The upstream HTTP transport: one small async interface, three implementations.

Providers build requests as bytes and read responses as bytes; which HTTP client moves
them is a deployment choice. aiohttp is the configured default because, measured on a
2-core machine, httpx's async connection pool gives about a tenth of its throughput under
concurrency; govern's own client (`httptools`, govern/http1.py) spends about a tenth of
aiohttp's CPU per call (docs/benchmarks.md). All keep pooled keep-alive connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class TransportError(Exception):
    """The upstream could not be reached, or the connection broke."""


class TransportTimeout(TransportError):
    """Connecting, or waiting for the next bytes, took longer than allowed."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Limits for one upstream call, in seconds."""

    total: float
    """Whole non-streaming call; for streams, the wait for the response head."""
    connect: float
    """Opening a connection."""
    read: float
    """Waiting for the next bytes of a stream."""


class UpstreamResponse(Protocol):
    """A response whose head has arrived; the body is read or streamed after."""

    status: int
    headers: Mapping[str, str]

    async def read(self) -> bytes:
        """The whole body."""
        ...

    def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body in chunks as they arrive."""
        ...

    async def aclose(self) -> None:
        """Release the connection (back to the pool if the body was read)."""
        ...


class Transport(Protocol):
    """Sends requests upstream over pooled connections."""

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeouts: Timeouts,
    ) -> UpstreamResponse:
        """Send a request and return once the response head has arrived."""
        ...

    async def aclose(self) -> None:
        """Close every pooled connection."""
        ...


async def fetch(
    transport: Transport,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    timeouts: Timeouts,
) -> tuple[int, Mapping[str, str], bytes]:
    """Send a request and read the whole body within `timeouts.total`."""
    try:
        async with asyncio.timeout(timeouts.total):
            response = await transport.send(
                method, url, headers=headers, body=body, timeouts=timeouts
            )
            try:
                return response.status, response.headers, await response.read()
            finally:
                await response.aclose()
    except TimeoutError:
        raise TransportTimeout(f"no complete answer within {timeouts.total:g} s") from None


# --- aiohttp -----------------------------------------------------------------------------


class _AiohttpResponse:
    __slots__ = ("_response", "headers", "status")

    def __init__(self, response: Any):
        self._response = response
        self.status: int = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        import aiohttp

        try:
            body: bytes = await self._response.read()
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise TransportError(_describe(exc)) from None
        except TimeoutError:
            raise TransportTimeout("upstream stopped sending") from None
        return body

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientPayloadError, aiohttp.ClientError, ConnectionError) as exc:
            raise TransportError(_describe(exc)) from None
        except TimeoutError:
            raise TransportTimeout("upstream stopped sending") from None

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport:
    """Transport on an aiohttp `ClientSession` (the default)."""

    def __init__(self, *, limit_per_host: int = 0):
        self._session: Any = None
        self._limit_per_host = limit_per_host

    def _get_session(self) -> Any:
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=self._limit_per_host, keepalive_timeout=30
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeouts: Timeouts,
    ) -> UpstreamResponse:
        import aiohttp

        session = self._get_session()
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.total,
            sock_connect=timeouts.connect,
            sock_read=timeouts.read,
        )
        try:
            response = await session.request(
                method, url, data=body, headers=dict(headers), timeout=timeout
            )
        except TimeoutError:
            raise TransportTimeout("timed out waiting for the upstream") from None
        except (aiohttp.ClientError, ConnectionError, OSError) as exc:
            raise TransportError(_describe(exc)) from None
        return _AiohttpResponse(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# --- httpx -------------------------------------------------------------------------------


class _HttpxResponse:
    __slots__ = ("_response", "headers", "status")

    def __init__(self, response: Any):
        self._response = response
        self.status: int = response.status_code
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        import httpx

        try:
            body: bytes = await self._response.aread()
        except httpx.TimeoutException:
            raise TransportTimeout("upstream stopped sending") from None
        except httpx.HTTPError as exc:
            raise TransportError(_describe(exc)) from None
        return body

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        import httpx

        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.TimeoutException:
            raise TransportTimeout("upstream stopped sending") from None
        except httpx.HTTPError as exc:
            raise TransportError(_describe(exc)) from None

    async def aclose(self) -> None:
        await self._response.aclose()


class HttpxTransport:
    """Transport on an `httpx.AsyncClient`; slower under concurrency, kept for choice."""

    def __init__(self) -> None:
        self._client: Any = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeouts: Timeouts,
    ) -> UpstreamResponse:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=256)
            )
        timeout = httpx.Timeout(timeouts.read, connect=timeouts.connect)
        request = self._client.build_request(
            method, url, headers=headers, content=body, timeout=timeout
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise TransportTimeout("timed out waiting for the upstream") from None
        except httpx.HTTPError as exc:
            raise TransportError(_describe(exc)) from None
        return _HttpxResponse(response)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def make_transport(name: str) -> Transport:
    """The transport called `name` (`httptools`, `aiohttp` or `httpx`)."""
    if name == "httpx":
        return HttpxTransport()
    if name == "httptools":
        from govern.http1 import HttptoolsTransport

        return HttptoolsTransport()
    return AiohttpTransport()


def _describe(exc: BaseException) -> str:
    # Exception text from HTTP clients can include the URL but never our headers, so it
    # carries no secret; keep it short and name the class for debugging.
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:300]
