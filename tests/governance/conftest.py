"""Fixtures: a real Redis server for the session, and each ledger backend to test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from govern.governance.ledger import Ledger
from govern.governance.memory_ledger import MemoryLedger
from tests.redis_server import RedisServer, RedisUnavailable, start_redis

TTL = 30.0
"""Seconds a test reservation holds its amounts."""
RETENTION = 3_600.0


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A temporary redis-server for the session (skips, saying why, if impossible)."""
    try:
        server = start_redis()
    except RedisUnavailable as exc:
        pytest.skip(f"Redis unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


def redis_ledger(server: RedisServer) -> Ledger:
    """A Redis ledger on `server` with its own key prefix (tests never share counters)."""
    from govern.governance.redis_ledger import RedisLedger

    return RedisLedger(
        server.url,
        prefix=f"t:{uuid.uuid4().hex[:12]}",
        reservation_ttl=TTL,
        retention=RETENTION,
    )


@pytest.fixture(params=["memory", "redis"])
async def ledger(request: pytest.FixtureRequest) -> AsyncIterator[Ledger]:
    """Each backend, empty, with a 30 s reservation TTL."""
    backend: Ledger
    if request.param == "memory":
        backend = MemoryLedger(reservation_ttl=TTL, retention=RETENTION)
    else:
        backend = redis_ledger(request.getfixturevalue("redis_server"))
    yield backend
    await backend.close()
