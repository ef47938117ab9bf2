"""A gateway-like process for the shared-Redis test: hammers one budget on one Redis.

    python -m tests.governance.ledger_child URL PREFIX NOW COUNT

Connects, prints `ready`, waits for a line on stdin (so that every process starts at
once), then runs COUNT concurrent requests that each reserve $0.06 on a $1.00 budget
and settle it at $0.06, and prints how many were admitted.
"""

from __future__ import annotations

import asyncio
import sys

from govern.governance.ledger import Admitted
from govern.governance.redis_ledger import RedisLedger
from tests.governance.limits import CENT, claim
from tests.governance.test_concurrency import BUDGET


async def main(url: str, prefix: str, now: float, count: int) -> None:
    ledger = RedisLedger(url, prefix=prefix)
    await ledger.usage([BUDGET], now)  # connect and load the scripts before the start
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def request(i: int) -> bool:
        rid = f"{prefix}-{id(ledger)}-{i}"
        if not isinstance(await ledger.reserve(rid, [claim(BUDGET, 6 * CENT)], now), Admitted):
            return False
        await asyncio.sleep(0)  # the upstream call
        await ledger.settle(rid, {BUDGET.id: 6 * CENT}, now)
        return True

    admitted = await asyncio.gather(*(request(i) for i in range(count)))
    print(sum(admitted), flush=True)
    await ledger.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
