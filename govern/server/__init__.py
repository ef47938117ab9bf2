"""The HTTP server: thin Litestar routes around `govern.pipeline`."""

from govern.server.app import create_app

__all__ = ["create_app"]
