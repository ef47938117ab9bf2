"""`python -m govern.serve`: run the gateway as a standalone server."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys

from govern.config import find_config, load_config
from govern.errors import ConfigError


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
        if args.host:
            config.server.host = args.host
        if args.port is not None:
            config.server.port = args.port
        from govern.gateway import Gateway

        gateway = Gateway(config, data_dir=args.data_dir)
    except ConfigError as exc:
        print(f"govern: {exc.message}", file=sys.stderr)
        return 2

    import uvicorn

    from govern.server import create_app

    host, port = config.server.host, config.server.port
    source = str(path) if path else "offline default"
    print(
        f"govern listening on http://{host}:{port} (OpenAI base URL http://{host}:{port}/v1); "
        f"providers: {', '.join(gateway.live_providers())}; config: {source}",
        flush=True,
    )
    uvicorn.run(
        create_app(gateway),
        host=host,
        port=port,
        log_level=args.log_level,
        access_log=False,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        timeout_graceful_shutdown=30,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
