"""A simulated upstream speaking the OpenAI, Anthropic and Bedrock wire protocols.

It answers by the sim engine's deterministic rules, validates requests as strictly as the
real services do, and injects faults on demand, so the gateway can be tested and
benchmarked offline against the real wire formats. The official SDKs parse its answers.

Faults are added in-process (`SimUpstream.add_fault`) or over HTTP
(`POST /_sim/faults` with a Fault as JSON; `DELETE /_sim/faults`); recent requests are
kept for inspection (`SimUpstream.requests`, `GET /_sim/requests`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import msgspec
from aiohttp import web

ProtocolName = Literal["openai", "anthropic", "bedrock"]
ErrorRenderer = Callable[[int, str], web.Response]


class Fault(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A failure to inject into matching requests."""

    status: int | None = None
    """Answer with this HTTP status and the protocol's error body."""
    message: str = "simulated failure"
    """The error message in that body."""
    retry_after: float | None = None
    """Seconds for a `Retry-After` header on the error."""
    delay_ms: float = 0.0
    """Wait this long before the first byte (slow first byte)."""
    hang: bool = False
    """Never answer: the client times out."""
    cut_after: int | None = None
    """Streams: drop the connection after this many events. With `status` too, send the
    protocol's in-stream error event instead of dropping (how Bedrock and Anthropic fail
    mid-stream)."""
    malformed: bool = False
    """Answer 200 with bytes that are not the protocol (for streams: a broken event)."""
    model: str | None = None
    """Only requests for this model."""
    key: str | None = None
    """Only requests with this credential (API key, or AWS access key id)."""
    protocol: ProtocolName | None = None
    """Only requests of this protocol."""
    times: int | None = None
    """Apply to this many matching requests, then expire; unset means forever."""

    def matches(self, protocol: str, model: str | None, key: str | None) -> bool:
        """Whether this fault applies to a request."""
        return (
            (self.protocol is None or self.protocol == protocol)
            and (self.model is None or self.model == model)
            and (self.key is None or self.key == key)
        )


class RecordedRequest(msgspec.Struct, kw_only=True):
    """A request the simulated upstream received."""

    protocol: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str


@dataclass
class SimSettings:
    """How the simulated upstream behaves when no fault applies."""

    api_keys: set[str] | None = None
    """Accepted API keys (OpenAI, Anthropic); None accepts any non-empty key."""
    aws_credentials: dict[str, str] = field(
        default_factory=lambda: {"AKIDSIMULATED": "simulated-secret-key"}
    )
    """Accepted AWS access key ids and their secrets (Bedrock requests must be signed)."""
    latency_ms: float = 0.0
    """Milliseconds before the first byte of every answer."""
    chunk_interval_ms: float = 0.0
    """Milliseconds between two stream events."""
    default_output_tokens: int = 16
    """Words generated when a request sets no output limit."""


class SimUpstream:
    """The simulated upstream: an aiohttp application plus its faults and request log."""

    def __init__(self, settings: SimSettings | None = None, *, keep_requests: int = 1000):
        self.settings = settings or SimSettings()
        self.faults: list[Fault] = []
        self.requests: deque[RecordedRequest] = deque(maxlen=keep_requests)
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.url = ""

    # --- faults --------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        """Inject `fault` into the requests it matches."""
        with self._lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        """Remove every fault."""
        with self._lock:
            self.faults.clear()

    def take_fault(self, protocol: str, model: str | None, key: str | None) -> Fault | None:
        """The first fault matching a request, counting one use of it."""
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.matches(protocol, model, key):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            del self.faults[i]
                    return fault
        return None

    async def before_answer(
        self,
        request: web.Request,
        protocol: ProtocolName,
        model: str | None,
        key: str | None,
        body: bytes,
        render_error: ErrorRenderer,
    ) -> tuple[web.StreamResponse | None, Fault | None]:
        """Record the request and apply the latency and any fault that answers by itself.

        Returns a response to send instead of the normal answer, or the fault that the
        normal answer must honour (`cut_after`, `malformed` on streams).
        """
        self.requests.append(
            RecordedRequest(
                protocol=protocol,
                method=request.method,
                path=request.path,
                query=request.query_string,
                headers=dict(request.headers),
                body=body.decode("utf-8", "replace"),
            )
        )
        fault = self.take_fault(protocol, model, key)
        delay = self.settings.latency_ms + (fault.delay_ms if fault else 0.0)
        if delay:
            await asyncio.sleep(delay / 1000)
        if fault is None:
            return None, None
        if fault.hang:
            assert self._stopping is not None
            await self._stopping.wait()
            return render_error(503, "simulated upstream is stopping"), fault
        if fault.status is not None:
            response = render_error(fault.status, fault.message)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response, fault
        return None, fault

    # --- application ---------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application serving every protocol."""
        from govern.sim import anthropic_api, bedrock_api, openai_api

        app = web.Application(client_max_size=64 * 1024 * 1024)
        openai_api.add_routes(app, self)
        anthropic_api.add_routes(app, self)
        bedrock_api.add_routes(app, self)
        app.router.add_post("/_sim/faults", self._post_fault)
        app.router.add_delete("/_sim/faults", self._delete_faults)
        app.router.add_get("/_sim/requests", self._get_requests)
        return app

    async def _post_fault(self, request: web.Request) -> web.Response:
        try:
            fault = msgspec.json.decode(await request.read(), type=Fault)
        except msgspec.DecodeError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.add_fault(fault)
        return web.json_response({"ok": True})

    async def _delete_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({"ok": True})

    async def _get_requests(self, request: web.Request) -> web.Response:
        return web.Response(
            body=msgspec.json.encode(list(self.requests)), content_type="application/json"
        )

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on `host:port` (0 picks a free port); returns the base URL."""
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class SimUpstreamThread:
    """A `SimUpstream` running on its own event loop in a daemon thread.

    For synchronous callers (the official sync SDK clients, boto3) and for tests.
    """

    def __init__(self, settings: SimSettings | None = None):
        self.sim = SimUpstream(settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="govern-sim-upstream"
        )
        self.url = ""

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start the thread and the server; returns the base URL."""
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.sim.start(host, port), self._loop).result(
            timeout=30
        )
        return self.url

    def stop(self) -> None:
        """Stop the server and the thread."""
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> SimUpstreamThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
