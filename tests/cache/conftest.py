"""Fixtures: a controllable clock, and backends of every kind at a fresh location.

The Weaviate backend runs against a real server when `GOVERN_TEST_WEAVIATE_URL` is set
(for example `http://127.0.0.1:8080`; gRPC on `GOVERN_TEST_WEAVIATE_GRPC_PORT`, default
50051); otherwise its tests are skipped with a message saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from govern.cache.backend import CacheBackend
from govern.cache.embedded import EmbeddedBackend

WEAVIATE_URL = os.environ.get("GOVERN_TEST_WEAVIATE_URL")
WEAVIATE_SKIP = (
    "Weaviate contract tests skipped: set GOVERN_TEST_WEAVIATE_URL to a Weaviate >= 1.27 "
    "server (docs/cache.md shows how to start one)"
)


class Clock:
    """Unix time that moves only when a test says so."""

    def __init__(self, now: float = 1_750_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    """A fake clock starting at a fixed instant."""
    return Clock()


BackendFactory = Callable[..., CacheBackend]


@pytest.fixture(params=["embedded", "weaviate"])
async def backend_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BackendFactory]:
    """Opens backends of one kind on one fresh location (a `cache.db` file, or a new
    Weaviate collection); opening twice is a restart. All are closed afterwards."""
    opened: list[CacheBackend] = []
    collection = f"GovernTest{uuid.uuid4().hex[:12]}"
    if request.param == "weaviate":
        if not WEAVIATE_URL:
            pytest.skip(WEAVIATE_SKIP)
        pytest.importorskip("weaviate", reason="pip install 'govern[weaviate]'")

    def open_backend(**kwargs: Any) -> CacheBackend:
        backend: CacheBackend
        if request.param == "embedded":
            backend = EmbeddedBackend(tmp_path / "cache.db", **kwargs)
        else:
            from govern.cache.weaviate import WeaviateBackend

            assert WEAVIATE_URL is not None
            port = int(os.environ.get("GOVERN_TEST_WEAVIATE_GRPC_PORT", "50051"))
            backend = WeaviateBackend(WEAVIATE_URL, grpc_port=port, collection=collection)
        opened.append(backend)
        return backend

    yield open_backend
    if request.param == "weaviate" and opened:
        from govern.cache.weaviate import WeaviateBackend

        last = opened[-1]
        assert isinstance(last, WeaviateBackend)
        await last.start()
        await last.drop()
    for backend in opened:
        await backend.aclose()
