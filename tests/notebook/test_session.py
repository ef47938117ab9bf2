"""The embedded gateway behind `govern.client()`: started once, stopped with its log flushed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

import govern
from govern.errors import ConfigError
from govern.logs import requests
from govern.notebook import session
from tests.notebook.conftest import chat, write_slow_log_config

# sim/gpt-4o-mini is priced as openai/gpt-4o-mini: $0.15 in, $0.60 out per MTok,
# i.e. 150 and 600 nano-dollars per token.
IN_NANOS, OUT_NANOS = 150, 600


def test_client_starts_the_embedded_gateway_on_a_free_local_port(clean_session: Path) -> None:
    client = govern.client()
    running = session.embedded()
    assert running is not None
    assert str(client.base_url) == f"{running.url}/v1/"
    assert running.url.startswith("http://127.0.0.1:")
    assert running.data_dir == clean_session.resolve()


def test_a_call_is_priced_and_logged(clean_session: Path) -> None:
    header = chat()
    running = session.embedded()
    assert running is not None and running.flush()
    row = requests(clean_session).iloc[0]
    expected = int(row["input_tokens"]) * IN_NANOS + int(row["output_tokens"]) * OUT_NANOS
    assert int(row["cost_nanos"]) == expected
    assert header == f"{expected / 1e9:.8f}".rstrip("0")


def test_start_twice_returns_the_running_gateway() -> None:
    first = session.start()
    assert session.start() is first


def test_stop_flushes_rows_written_just_before(clean_session: Path) -> None:
    write_slow_log_config(clean_session.parent)
    for _ in range(3):
        chat()
    assert session.stop() is True
    assert session.embedded() is None
    assert len(requests(clean_session)) == 3


def test_stop_without_a_gateway_says_so() -> None:
    assert session.stop() is False


def test_async_client_calls_the_same_gateway() -> None:
    async def call() -> str:
        client = govern.async_client()
        reply = await client.chat.completions.create(
            model="sim/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )
        await client.close()
        return reply.model

    assert asyncio.run(call()) == "gpt-4o-mini"
    assert session.embedded() is not None


def test_connect_points_clients_at_a_remote_gateway() -> None:
    remote = govern.connect("http://gateway.example:4000/v1/", key="vk-team")
    client = govern.client()
    assert remote.url == "http://gateway.example:4000"
    assert str(client.base_url) == "http://gateway.example:4000/v1/"
    assert client.api_key == "vk-team"
    assert session.embedded() is None  # nothing started locally


def test_disconnect_goes_back_to_the_embedded_gateway() -> None:
    govern.connect("http://gateway.example:4000")
    session.disconnect()
    client = govern.client(key="vk-1")
    running = session.embedded()
    assert running is not None and str(client.base_url) == f"{running.url}/v1/"
    assert client.api_key == "vk-1"


def test_export_env_sets_the_openai_variables() -> None:
    values = session.export_env()
    running = session.embedded()
    assert running is not None
    assert os.environ["OPENAI_BASE_URL"] == values["OPENAI_BASE_URL"] == f"{running.url}/v1"
    assert os.environ["OPENAI_API_KEY"] == session.LOCAL_KEY


def test_an_exported_gateway_key_is_not_taken_for_an_openai_key() -> None:
    session.export_env()
    session.stop()
    # Restarted on the offline default: OPENAI_API_KEY is ours, so no `openai` provider.
    assert session.start().providers() == ["sim"]
    assert os.environ["OPENAI_API_KEY"] == session.LOCAL_KEY


def test_a_config_file_in_the_working_directory_is_used(clean_session: Path) -> None:
    (clean_session.parent / "govern.toml").write_text('[providers.sim]\nmodels = ["sim-mini"]\n')
    running = session.start()
    assert running.config_source == Path("govern.toml")
    assert running.gateway.router.all_models() != []
    assert running.providers() == ["sim"]


def test_a_bad_config_file_raises_before_any_server_starts(clean_session: Path) -> None:
    (clean_session.parent / "govern.toml").write_text("[providers.nope]\nkind = 'telepathy'\n")
    with pytest.raises(ConfigError, match="kind"):
        session.start()
    assert session.embedded() is None


def test_the_management_api_answers_only_this_process() -> None:
    running = session.start()
    assert running.admin_key  # made up: the offline default has none
    url = f"{running.url}/api/usage"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"x-govern-admin-key": "guess"}).status_code == 403
    assert httpx.get(url, headers={"x-govern-admin-key": running.admin_key}).status_code == 200


def test_a_configured_admin_key_is_kept(
    clean_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERN_ADMIN_KEY", "admin-from-env")
    assert session.start().admin_key == "admin-from-env"
