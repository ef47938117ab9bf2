"""The Done-when case: a $1.00 budget and 64 parallel reservations of $0.06 each admit at
most 16 (16 x $0.06 = $0.96; a 17th would make $1.02), and the settled spend never passes
$1.00 — in one process, and with two processes sharing one real Redis server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest

from govern.governance.ledger import Admitted, Ledger
from govern.governance.redis_ledger import RedisLedger
from tests.conftest import ROOT
from tests.governance.limits import CENT, NOW, USD, claim, limit
from tests.redis_server import RedisServer

BUDGET = limit("key:alice:budget", USD, period="1M")


async def test_64_parallel_reservations_admit_16(ledger: Ledger) -> None:
    async def request(i: int) -> bool:
        if not isinstance(await ledger.reserve(f"r{i}", [claim(BUDGET, 6 * CENT)], NOW), Admitted):
            return False
        await asyncio.sleep(0)  # the upstream call: every other request runs meanwhile
        await ledger.settle(f"r{i}", {BUDGET.id: 6 * CENT}, NOW)
        return True

    admitted = await asyncio.gather(*(request(i) for i in range(64)))
    assert sum(admitted) == 16
    assert (await ledger.usage([BUDGET], NOW))[BUDGET.id].spent == 96 * CENT


@pytest.mark.slow
async def test_two_processes_sharing_redis_admit_16(redis_server: RedisServer) -> None:
    prefix = f"t:{uuid.uuid4().hex[:12]}"
    child_args = [redis_server.url, prefix, repr(NOW), "32"]
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.governance.ledger_child", *child_args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                child.kill()
                pytest.fail(f"child did not start: {child.communicate()[1]}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert [child.returncode for child in children] == [0, 0], [err for _, err in outputs]
    admitted = [int(out) for out, _ in outputs]
    assert sum(admitted) == 16
    ledger = RedisLedger(redis_server.url, prefix=prefix)
    try:
        assert (await ledger.usage([BUDGET], NOW))[BUDGET.id].spent == 96 * CENT
    finally:
        await ledger.close()
