"""Shared fixtures: the simulated upstream, gateways served from a thread, data paths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from govern.config import config_from_dict
from govern.gateway import Gateway
from govern.server.embedded import EmbeddedServer
from govern.sim.server import SimSettings, SimUpstreamThread

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONV_TRACE = ROOT.parent / "shared" / "data" / "azure-llm-trace-2023" / "conv.csv"

SIM_AWS_KEY_ID = "AKIDSIMULATED"
SIM_AWS_SECRET = "simulated-secret-key"


@pytest.fixture(scope="session")
def sim_upstream_session() -> Iterator[SimUpstreamThread]:
    """One simulated upstream (OpenAI, Anthropic, Bedrock) for the whole session."""
    with SimUpstreamThread(SimSettings()) as sim:
        yield sim


@pytest.fixture
def sim_upstream(sim_upstream_session: SimUpstreamThread) -> Iterator[SimUpstreamThread]:
    """The session's simulated upstream with no faults and an empty request log."""
    sim_upstream_session.sim.clear_faults()
    sim_upstream_session.sim.requests.clear()
    yield sim_upstream_session
    sim_upstream_session.sim.clear_faults()


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
            "keys": [
                {
                    "name": "main",
                    "aws_access_key_id": SIM_AWS_KEY_ID,
                    "aws_secret_access_key": SIM_AWS_SECRET,
                }
            ],
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
