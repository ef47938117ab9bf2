"""`python -m govern.serve`: run the gateway as a standalone server."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import importlib.util
import logging
import os
import socket
import sys
from typing import TYPE_CHECKING

from govern.config import find_config, load_config
from govern.errors import ConfigError

if TYPE_CHECKING:
    from govern.gateway import Gateway

STARTUP_FAILURE = 3
"""Exit status when the server cannot start (uvicorn's own, for a failed app start-up)."""
BACKLOG = 2048
"""Pending connections the listening socket queues (uvicorn's default)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m govern.serve",
        description="Run the govern LLM gateway (OpenAI-compatible, priced, governed).",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (.toml, .yaml, .json); default: $GOVERN_CONFIG, "
        "./govern.toml|yaml|json, else the offline default",
    )
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 4000)")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="directory for the request log and cache (default ./govern-data)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the server; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        path = find_config(args.config)
        config = load_config(path)
    except ConfigError as exc:
        print(f"govern: {exc.message}", file=sys.stderr)
        return 2
    if args.host:
        config.server.host = args.host
    if args.port is not None:
        config.server.port = args.port
    host = config.server.host
    try:
        sockets = listen(host, config.server.port)
    except OSError as exc:
        print(cannot_listen(host, config.server.port, exc), file=sys.stderr)
        return STARTUP_FAILURE
    try:
        from govern.gateway import Gateway

        gateway = Gateway(config, data_dir=args.data_dir)
    except ConfigError as exc:
        for sock in sockets:
            sock.close()
        print(f"govern: {exc.message}", file=sys.stderr)
        return 2

    address = "http://" + _host_port(host, sockets[0].getsockname()[1])
    source = str(path) if path else "offline default"
    banner = (
        f"govern listening on {address} (OpenAI base URL {address}/v1); "
        f"providers: {', '.join(gateway.live_providers())}; config: {source}"
    )
    return _run(gateway, sockets, args.log_level, banner)


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening TCP sockets on every address `host` resolves to, bound as asyncio binds
    them; OSError if any cannot be bound."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            if family == socket.AF_INET6 and not socket.has_ipv6:
                continue
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            # Listening here too: with SO_REUSEADDR a taken port can fail only at listen().
            sock.listen(BACKLOG)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise OSError(errno.EADDRNOTAVAIL, "no address to listen on (IPv6 is not available)")
    return sockets


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """The one line telling why the gateway cannot listen on `host:port` and what to do."""
    where = _host_port(host, port)
    if exc.errno == errno.EADDRINUSE:
        return (
            f"govern: cannot listen on {where}: the port is already in use; choose another "
            "with --port N (or server.port in the config file)"
        )
    reason = exc.strerror or str(exc)
    return (
        f"govern: cannot listen on {where}: {reason}; choose another address with "
        "--host/--port (or server.host/server.port in the config file)"
    )


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _run(gateway: Gateway, sockets: list[socket.socket], log_level: str, banner: str) -> int:
    """Serve on `sockets` until stopped; `banner` is printed once requests are accepted."""
    import uvicorn

    from govern.server import GatewayApp
    from govern.server.protocol import http_protocol

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                settle_garbage_collector()
                print(banner, flush=True)

    host, port = sockets[0].getsockname()[:2]
    server = Server(
        uvicorn.Config(
            GatewayApp(gateway),
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            http=http_protocol(),
            backlog=BACKLOG,
            timeout_graceful_shutdown=30,
        )
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=sockets)
    return 0 if server.started else STARTUP_FAILURE


def settle_garbage_collector() -> None:
    """Tune Python's garbage collector for serving, once everything is loaded.

    The catalog, config and app are a large heap that lives as long as the process; every
    full collection walked it again. `gc.freeze()` sets it aside for good, and a larger
    first-generation threshold makes young collections rarer. Together: about a fifth
    less CPU per answer in A/B runs of `make bench` (docs/benchmarks.md). Only the
    standalone server does this; a notebook's kernel keeps Python's defaults.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


if __name__ == "__main__":
    sys.exit(main())
