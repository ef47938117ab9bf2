"""The HTTP server: thin Litestar routes around `govern.pipeline`."""

from govern.server.app import GatewayApp, create_app

__all__ = ["GatewayApp", "create_app"]
