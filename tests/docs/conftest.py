"""Fixtures for the documentation tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresServer, PostgresUnavailable, start_server
from tests.redis_server import RedisServer, RedisUnavailable, start_redis


@pytest.fixture(scope="session")
def docs_pg_server() -> Iterator[PostgresServer]:
    """A temporary PostgreSQL cluster for the tutorials that use one (skips, saying why,
    where PostgreSQL cannot run)."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def docs_redis_server() -> Iterator[RedisServer]:
    """A temporary Redis server for one tutorial (which may shut it down, as a reader
    would to see the gateway fail closed); skips, saying why, where Redis cannot run."""
    try:
        server = start_redis()
    except RedisUnavailable as exc:
        pytest.skip(f"Redis unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()
