"""Two gateway processes sharing one real Redis ledger hold one budget between them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.process import ServeProcess, free_port
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow

KEY = "gk-replicated"


def config(redis_url: str) -> str:
    # sim/m: $0.006 per output token, so max_tokens=10 costs exactly $0.06 (see
    # test_enforcement.py); the key's budget is $1.00 a day.
    return f"""
[providers.sim]
models = ["m"]
latency_ms = 50

[[pricing.overrides]]
model = "m"
provider = "sim"
input_per_mtok = "0"
output_per_mtok = "6000"

[governance]
ledger = "redis"
redis_url = "{redis_url}"

[[governance.virtual_keys]]
id = "nb"
value = "{KEY}"
budgets = [{{ max_usd = "1.00", reset = "1d" }}]
"""


async def test_two_replicas_never_overspend_a_shared_budget(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    path = tmp_path / "govern.toml"
    path.write_text(config(redis_server.url))
    replicas = [ServeProcess(tmp_path / f"data{i}", config=path) for i in range(2)]
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            body = {
                "model": "sim/m",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 10,
            }
            headers = {"Authorization": f"Bearer {KEY}"}
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"{replicas[i % 2].url}/v1/chat/completions", json=body, headers=headers
                    )
                    for i in range(64)
                )
            )
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) == 16  # $0.96 of $1.00; a 17th call would need $1.02
        assert statuses.count(402) == 48
        cost = sum(float(r.headers["x-govern-cost-usd"]) for r in responses if r.status_code == 200)
        assert round(cost, 9) == 0.96
    finally:
        for replica in replicas:
            replica.stop()


async def test_unreachable_redis_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "govern.toml"
    path.write_text(config(f"redis://127.0.0.1:{free_port()}/0"))  # nobody listens there
    replica = ServeProcess(tmp_path / "data", config=path)
    try:
        response = httpx.post(
            f"{replica.url}/v1/chat/completions",
            json={
                "model": "sim/m",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 10,
            },
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
        )
        assert response.status_code == 503
        assert response.json()["error"]["type"] == "ledger_unavailable"
    finally:
        replica.stop()
