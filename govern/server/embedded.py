"""The gateway's HTTP server on its own event loop in a background thread.

Used by tests, benchmarks and (later) the notebook extension: the caller's thread stays
free, so synchronous clients can call the gateway from it.
"""

from __future__ import annotations

import asyncio
import threading

from govern.gateway import Gateway


class EmbeddedServer:
    """Serve a `Gateway` over HTTP from a daemon thread until `stop()`."""

    def __init__(
        self,
        gateway: Gateway,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        answer_first: bool = False,
    ):
        self.gateway = gateway
        self.answer_first = answer_first
        """Send chat answers before recording them, as `python -m govern.serve` does. Off
        by default: code in other threads (the notebook's `flush`, then `spend()`) reads
        the log's backlog the moment it has an answer."""
        self.host = host
        self.port = port
        self.url = ""
        self._server: object | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> str:
        """Start serving; returns the base URL (`http://host:port`)."""
        import uvicorn

        from govern.server import GatewayApp
        from govern.server.protocol import http_protocol

        config = uvicorn.Config(
            GatewayApp(self.gateway, answer_first=self.answer_first),
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            http=http_protocol(),
            timeout_graceful_shutdown=10,
        )
        server = uvicorn.Server(config)
        self._server = server

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.serve())
            except BaseException as exc:  # surfaced by start()
                self._error = exc
            finally:
                self._ready.set()
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="govern-server")
        self._thread.start()
        while not server.started and not self._ready.wait(0.01):
            if timeout <= 0:
                raise TimeoutError("the embedded gateway did not start in time")
            timeout -= 0.01
        if not server.started:
            raise RuntimeError(f"the embedded gateway failed to start: {self._error!r}")
        sockets = server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving (graceful: open requests finish) and wait for the thread."""
        server = self._server
        if server is None or self._thread is None:
            return
        server.should_exit = True  # type: ignore[attr-defined]
        self._thread.join(timeout)
        self._server = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
