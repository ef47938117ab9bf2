"""Routing: model names to providers, keys by weight, fallbacks and retries."""

from govern.routing.router import Route, Router

__all__ = ["Route", "Router"]
