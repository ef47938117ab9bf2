"""A real HTTP server that answers with recorded bytes, for Anthropic translation tests.

It replays fixture payloads (responses, SSE transcripts, error bodies) over a real socket
and records what it received, so the provider is exercised end to end without mocks.
SSE bodies are sent in small pieces to exercise incremental decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic"


def fixture(name: str) -> bytes:
    """The bytes of a recorded Anthropic payload."""
    return (FIXTURES / name).read_bytes()


@dataclass
class Received:
    """One request the replay server received."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What the replay server answers."""

    body: bytes = b"{}"
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    piece: int = 0
    """Send the body in pieces of this many bytes (0: at once)."""
    cut: bool = False
    """Drop the connection after the body instead of ending it properly."""


class ReplayServer:
    """Serves `reply` to every POST and records the requests."""

    def __init__(self) -> None:
        self.reply = Reply()
        self.received: list[Received] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(
            Received(
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.read(),
            )
        )
        reply = self.reply
        if not reply.piece and not reply.cut:
            return web.Response(
                body=reply.body,
                status=reply.status,
                headers={"content-type": reply.content_type, **reply.headers},
            )
        response = web.StreamResponse(
            status=reply.status, headers={"content-type": reply.content_type, **reply.headers}
        )
        await response.prepare(request)
        step = reply.piece or len(reply.body)
        for i in range(0, len(reply.body), step):
            await response.write(reply.body[i : i + step])
        if reply.cut:
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response

    async def start(self) -> str:
        """Listen on a free local port; returns the base URL."""
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        """Close the server."""
        if self._runner is not None:
            await self._runner.cleanup()
