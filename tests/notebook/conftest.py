"""Notebook tests: a clean session (no gateway running, no exported variables) per test,
the working directory and data directory in the test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from govern.notebook import session

CLIENT_ENV = (
    "GOVERN_CONFIG",
    "GOVERN_DATA_DIR",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
)


@pytest.fixture(autouse=True)
def clean_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No gateway before or after the test; the offline default config, data in tmp_path."""
    for name in CLIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVERN_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"
    session.stop()
    session.disconnect()
    session._exported.clear()


def chat(model: str = "sim/gpt-4o-mini", max_tokens: int = 8) -> str:
    """One chat completion through `govern.client()`; returns the cost header."""
    import govern

    raw = govern.client().chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello there"}], max_tokens=max_tokens
    )
    raw.parse()
    return raw.headers["x-govern-cost-usd"]


SLOW_LOG_CONFIG = """
[providers.sim]
models = ["gpt-4o-mini"]

[[pricing.overrides]]
provider = "sim"
model = "gpt-4o-mini"
pricing_as = "openai/gpt-4o-mini"

[log]
flush_interval_ms = 600000  # rows reach the log only when it is closed (or full)
"""


def write_slow_log_config(folder: Path) -> None:
    """A govern.toml whose request log writes only on close: tests of the final flush."""
    (folder / "govern.toml").write_text(SLOW_LOG_CONFIG)
