"""`python -m govern.serve` as a real process: start-up line, busy port, clean stops lose no
log row."""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import govern.logs
from tests.process import ServeProcess, offline_env

pytestmark = pytest.mark.slow


Start = Callable[..., ServeProcess]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start gateway processes on `tmp_path/data`; all are stopped after the test."""
    processes: list[ServeProcess] = []

    def run(*args: str, config: str | None = None) -> ServeProcess:
        path = None
        if config is not None:
            path = tmp_path / "govern.toml"
            path.write_text(config)
        process = ServeProcess(tmp_path / "data", *args, config=path)
        processes.append(process)
        return process

    yield run
    for process in processes:
        process.stop()


def chat(client: httpx.Client, url: str) -> str:
    response = client.post(
        f"{url}/v1/chat/completions",
        json={
            "model": "sim/gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 3,
        },
    )
    assert response.status_code == 200
    return response.headers["x-govern-request-id"]


def test_prints_where_it_listens_and_which_providers_are_live(start: Start, tmp_path: Path) -> None:
    served = start()
    assert served.line.startswith(f"govern listening on {served.url}")
    assert "providers: sim" in served.line
    assert "config: offline default" in served.line


def test_prints_the_line_only_once_it_accepts_requests(start: Start) -> None:
    served = start()
    # One try, no retries: the line must not come before the socket listens.
    assert httpx.get(f"{served.url}/health", timeout=10).status_code == 200


def test_busy_port_is_one_clear_line_and_a_failed_exit(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "govern.serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=offline_env(),
        )
    assert result.returncode == 3
    assert result.stdout == ""  # never claims to listen
    assert result.stderr == (
        f"govern: cannot listen on 127.0.0.1:{port}: the port is already in use; "
        "choose another with --port N (or server.port in the config file)\n"
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_clean_stop_loses_no_row(start: Start, tmp_path: Path, stop: signal.Signals) -> None:
    served = start()
    with httpx.Client(timeout=10) as client:
        ids = {chat(client, served.url) for _ in range(200)}
    served.process.send_signal(stop)
    # uvicorn shuts down gracefully, then re-raises the signal to report it
    assert served.process.wait(timeout=30) in (0, -stop)
    logged = govern.logs.requests(tmp_path / "data")
    assert set(logged["request_id"]) == ids


def test_sigkill_in_strict_mode_loses_no_received_response(start: Start, tmp_path: Path) -> None:
    served = start(
        config='[providers.sim]\nmodels = ["gpt-4o-mini"]\n[log]\ndurability = "strict"\n'
    )
    with httpx.Client(timeout=10) as client:
        ids = {chat(client, served.url) for _ in range(100)}
    served.process.kill()
    served.process.wait(timeout=30)
    logged = govern.logs.requests(tmp_path / "data")
    assert ids <= set(logged["request_id"])


def test_bad_config_is_one_clear_line(start: Start, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[providers.openai]\ntimeout = 'soon'\n")
    result = subprocess.run(
        [sys.executable, "-m", "govern.serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Expected `float`, got `str` - at `providers.openai.timeout`" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_server_sets_its_loaded_heap_aside_from_garbage_collection() -> None:
    from govern.serve import settle_garbage_collector

    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() > 0  # everything loaded so far: never walked again
        assert gc.get_threshold() == (10_000, 20, 20)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
