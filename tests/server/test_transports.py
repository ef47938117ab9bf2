"""Every configurable upstream transport serves calls and streams end to end."""

from __future__ import annotations

import httpx
import pytest

from govern.sim.server import SimUpstreamThread
from tests.conftest import ServeFactory, upstream_config


@pytest.mark.parametrize("transport", ["aiohttp", "httptools", "httpx"])
def test_transport_serves_calls_and_streams(
    serve: ServeFactory, sim_upstream: SimUpstreamThread, transport: str
) -> None:
    config = upstream_config(sim_upstream)
    config["server"] = {"transport": transport}
    server = serve(config)
    body = {
        "model": "openai/gpt-4o-mini",
        "max_tokens": 4,
        "messages": [{"role": "user", "content": "one two"}],
    }
    for _ in range(3):  # reuses pooled connections
        done = httpx.post(f"{server.url}/v1/chat/completions", json=body).json()
        assert done["usage"]["completion_tokens"] == 4
    with httpx.stream(
        "POST", f"{server.url}/v1/chat/completions", json={**body, "stream": True}
    ) as response:
        text = response.read().decode()
    assert text.endswith("data: [DONE]\n\n")
    assert text.count('"content"') >= 4
