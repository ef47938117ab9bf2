"""What only the Redis ledger does: expiring keys, script loading, failing closed."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from govern.governance.ledger import Admitted, LedgerUnavailable
from govern.governance.redis_ledger import RedisLedger
from tests.governance.limits import CENT, NOW, USD, claim, limit, ts
from tests.redis_server import RedisServer, free_port, start_redis

TTL = 30.0
RETENTION = 600.0


@pytest.fixture
async def ledger(redis_server: RedisServer) -> AsyncIterator[RedisLedger]:
    backend = RedisLedger(
        redis_server.url,
        prefix=f"t:{uuid.uuid4().hex[:12]}",
        reservation_ttl=TTL,
        retention=RETENTION,
    )
    yield backend
    await backend.close()


async def pttl_ms(ledger: RedisLedger, key: str) -> int:
    ttl: int = await ledger.client.pttl(key)
    return ttl


async def test_window_keys_expire_a_retention_after_the_window_resets(
    ledger: RedisLedger,
) -> None:
    budget = limit()  # daily: NOW is noon, so the window resets in 12 h
    await ledger.reserve("r1", [claim(budget, CENT)], NOW)
    expected = (12 * 3600 + RETENTION) * 1000
    for kind in ("w", "z", "a"):
        key = f"{ledger.prefix}:{kind}:b:{ts(2024, 2, 28)!r}"
        assert expected - 5_000 < await pttl_ms(ledger, key) <= expected


async def test_reservation_records_expire_after_ttl_and_retention(ledger: RedisLedger) -> None:
    await ledger.reserve("r1", [claim(limit(), CENT)], NOW)
    expected = (TTL + RETENTION) * 1000
    assert expected - 5_000 < await pttl_ms(ledger, f"{ledger.prefix}:r:r1") <= expected


async def test_never_windows_do_not_expire(ledger: RedisLedger) -> None:
    prepaid = limit("p", USD, period="never")
    await ledger.reserve("r1", [claim(prepaid, CENT)], NOW)
    await ledger.settle("r1", {}, NOW)
    assert await pttl_ms(ledger, f"{ledger.prefix}:w:p:0.0") == -1


async def test_scripts_are_loaded_again_after_a_flush(ledger: RedisLedger) -> None:
    budget = limit()
    await ledger.reserve("r1", [claim(budget, CENT)], NOW)
    await ledger.client.script_flush()  # as after a server restart
    assert isinstance(await ledger.reserve("r2", [claim(budget, CENT)], NOW), Admitted)
    assert (await ledger.usage([budget], NOW))["b"].reserved == 2 * CENT


async def test_amounts_up_to_2_to_the_53_stay_exact(ledger: RedisLedger) -> None:
    huge = limit("h", 2**53)
    await ledger.reserve("r1", [claim(huge, 2**53 - 1)], NOW)
    await ledger.settle("r1", {"h": 2**53 - 3}, NOW)
    assert (await ledger.usage([huge], NOW))["h"].spent == 2**53 - 3


async def test_an_unreachable_server_raises_ledger_unavailable() -> None:
    ledger = RedisLedger(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    try:
        with pytest.raises(LedgerUnavailable, match="unreachable"):
            await ledger.reserve("r1", [claim(limit(), CENT)], NOW)
        with pytest.raises(LedgerUnavailable):
            await ledger.settle("r1", {}, NOW)
        with pytest.raises(LedgerUnavailable):
            await ledger.usage([limit()], NOW)
    finally:
        await ledger.close()


async def test_a_server_that_goes_away_raises_ledger_unavailable() -> None:
    server = start_redis()
    ledger = RedisLedger(server.url, timeout=1.0)
    try:
        assert isinstance(await ledger.reserve("r1", [claim(limit(), CENT)], NOW), Admitted)
        server.stop()
        with pytest.raises(LedgerUnavailable):
            await ledger.reserve("r2", [claim(limit(), CENT)], NOW)
    finally:
        server.stop()
        await ledger.close()


async def test_a_client_can_be_passed_in(redis_server: RedisServer) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    ledger = RedisLedger(client=client, prefix=f"t:{uuid.uuid4().hex[:12]}")
    budget = limit()
    await ledger.reserve("r1", [claim(budget, CENT)], NOW)
    assert await ledger.settle("r1", {}, NOW) == "settled"
    await ledger.close()  # not ours to close
    assert await client.ping()
    await client.aclose()


def test_a_missing_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ImportError, match=r"pip install 'govern\[redis\]'"):
        RedisLedger()
