"""Fixtures: a gateway served over HTTP from a background thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from govern.config import config_from_dict
from govern.gateway import Gateway
from govern.server.embedded import EmbeddedServer
from govern.sim.server import SimUpstreamThread
from tests.conftest import SIM_AWS_KEY_ID, SIM_AWS_SECRET

ServeFactory = Callable[[dict[str, Any]], EmbeddedServer]


@pytest.fixture
def serve(tmp_path: Any) -> Iterator[ServeFactory]:
    """Start gateways from config dicts; all are stopped after the test."""
    servers: list[EmbeddedServer] = []

    def start(config: dict[str, Any]) -> EmbeddedServer:
        gateway = Gateway(config_from_dict(config), data_dir=tmp_path)
        server = EmbeddedServer(gateway)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def upstream_config(sim: SimUpstreamThread, **overrides: Any) -> dict[str, Any]:
    """Providers of every kind, the real ones pointed at the simulated upstream."""
    fast = {"max_retries": 1, "retry_backoff": 0, "timeout": 5}
    providers: dict[str, Any] = {
        "sim": {"models": ["gpt-4o-mini"]},
        "openai": {
            "base_url": f"{sim.url}/v1",
            "keys": [{"name": "main", "value": "sk-sim-openai-main"}],
            **fast,
        },
        "anthropic": {
            "base_url": sim.url,
            "keys": [{"name": "main", "value": "sk-ant-sim-main"}],
            **fast,
        },
        "bedrock": {
            "base_url": sim.url,
            "region": "us-east-1",
            "keys": [{
                "name": "main",
                "aws_access_key_id": SIM_AWS_KEY_ID,
                "aws_secret_access_key": SIM_AWS_SECRET,
            }],
            **fast,
        },
    }
    for name, values in overrides.items():
        providers.setdefault(name, {}).update(values)
    return {"providers": providers}


@pytest.fixture
def sim_gateway(serve: ServeFactory) -> EmbeddedServer:
    """A gateway on the offline default: the in-process sim provider only."""
    return serve({"providers": {"sim": {"models": ["gpt-4o-mini", "claude-sonnet-4-5"]}}})
