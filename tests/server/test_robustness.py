"""Nothing a client sends crashes the gateway or leaks a provider key."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govern.server.embedded import EmbeddedServer
from govern.sim.server import Fault, SimSettings, SimUpstreamThread
from tests.conftest import ServeFactory, upstream_config

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)

VALID = {
    "model": "sim/gpt-4o-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 2,
}
FIELDS = [
    "model",
    "messages",
    "max_tokens",
    "stream",
    "n",
    "tools",
    "tool_choice",
    "stop",
    "temperature",
    "response_format",
    "stream_options",
    "fallbacks",
    "seed",
]


HTTP = httpx.Client(timeout=10)


def assert_clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["message"] and error["type"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_arbitrary_json_bodies(sim_gateway: EmbeddedServer, body: Any) -> None:
    response = HTTP.post(
        f"{sim_gateway.url}/v1/chat/completions", content=msgspec.json.encode(body)
    )
    assert_clean(response)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_one_field_replaced_by_anything(
    sim_gateway: EmbeddedServer, field: str, value: Any
) -> None:
    body = {**VALID, field: value}
    response = HTTP.post(
        f"{sim_gateway.url}/v1/chat/completions", content=msgspec.json.encode(body)
    )
    assert_clean(response)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes(sim_gateway: EmbeddedServer, raw: bytes) -> None:
    for path in ("/v1/chat/completions", "/v1/embeddings"):
        assert_clean(HTTP.post(f"{sim_gateway.url}{path}", content=raw))


SECRET = "sk-live-do-not-leak-4f9a2c"


@pytest.fixture
def strict_sim() -> Any:
    """A simulated upstream that accepts no key, so every call is refused."""
    with SimUpstreamThread(SimSettings(api_keys={"sk-the-right-one"})) as sim:
        yield sim


@pytest.mark.parametrize(
    "fault",
    [
        None,
        Fault(status=500),
        Fault(status=429),
        Fault(hang=True),
        Fault(cut_after=2),
        Fault(malformed=True),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_provider_key_never_leaks(
    serve: ServeFactory,
    strict_sim: SimUpstreamThread,
    caplog: pytest.LogCaptureFixture,
    fault: Fault | None,
    stream: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = upstream_config(
        strict_sim,
        openai={"keys": [{"name": "main", "value": SECRET}], "timeout": 0.3, "max_retries": 0},
    )
    server = serve(config)
    if fault is not None:
        strict_sim.sim.settings.api_keys = None
        strict_sim.sim.add_fault(fault)
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={**VALID, "model": "openai/gpt-4o-mini", "stream": stream},
        timeout=10,
    )
    assert response.status_code != 200 or stream
    text = response.text
    assert SECRET not in text and SECRET[:12] not in text
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert SECRET not in logged and SECRET[:12] not in logged
