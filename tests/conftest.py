"""Shared fixtures: the simulated upstream and paths to the shared data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
