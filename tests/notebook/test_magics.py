"""`%govern` subcommands; bad input prints the usage, never a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from govern.notebook import session
from govern.notebook.magics import GovernMagic
from tests.notebook.conftest import chat

GOVERNED = """
[providers.sim]
models = ["gpt-4o-mini"]

[[governance.customers]]
id = "acme"
budgets = [{ max_usd = "100", reset = "1M" }]

[[governance.teams]]
id = "eng"
customer = "acme"
budgets = [{ max_usd = "20", reset = "1d" }]

[[governance.virtual_keys]]
id = "nb"
value = "vk-nb"
team = "eng"
budgets = [{ max_usd = "2", reset = "1h" }]
rate_limits = [{ requests = 60, reset = "1m" }]
"""


@pytest.fixture
def govern_magic() -> Iterator[GovernMagic]:
    """`%govern` bound to the process's IPython shell, the embedded gateway running."""
    session.start()
    yield GovernMagic(InteractiveShell.instance())


def output(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.out


def test_status_names_url_providers_and_data_dir(
    govern_magic: GovernMagic, capsys: pytest.CaptureFixture[str], clean_session: Path
) -> None:
    assert govern_magic("status") is None
    text = output(capsys)
    running = session.embedded()
    assert running is not None
    assert f"OpenAI base URL: {running.url}/v1" in text
    assert f"data directory: {clean_session.resolve()}" in text
    assert "config: offline default" in text


def test_spend_is_a_dataframe_per_provider_and_model(govern_magic: GovernMagic) -> None:
    chat("sim/gpt-4o-mini")
    chat("sim/gpt-4o-mini")
    frame = govern_magic("spend")
    assert isinstance(frame, pd.DataFrame)
    row = frame.set_index("model_served").loc["gpt-4o-mini"]
    assert row["requests"] == 2
    # $0.15 and $0.60 per MTok: 150 and 600 nano-dollars a token.
    assert row["cost_nanos"] == row["input_tokens"] * 150 + row["output_tokens"] * 600


def test_spend_by_team_groups_by_team_id(govern_magic: GovernMagic) -> None:
    chat()
    frame = govern_magic("spend --by team --since 1d")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:2]) == ["team_id", "cost_usd"]
    assert frame["requests"].sum() == 1


def test_spend_since_excludes_older_rows(govern_magic: GovernMagic) -> None:
    chat()
    frame = govern_magic("spend --since 2999-01-01")
    assert isinstance(frame, pd.DataFrame) and frame.empty


def test_spend_with_freq_has_periods(govern_magic: GovernMagic) -> None:
    chat()
    frame = govern_magic("spend --by model,provider --freq 1h")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:3]) == ["model_served", "provider", "period"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("frobnicate", "unknown command 'frobnicate'"),
        ("spend --bogus", "unrecognized arguments: --bogus"),
        ("spend --by", "expected one argument"),
        ("spend --by planet", "cannot group by 'planet'"),
        ("stop now", "unrecognized arguments: now"),
        ("spend 'unclosed", "No closing quotation"),
        ("spend --since yesterday", "since: not an ISO 8601 time: 'yesterday'"),
        ("spend --freq fortnightly", "freq: 'fortnightly' is not a fixed frequency"),
    ],
)
def test_bad_input_prints_the_usage(
    govern_magic: GovernMagic, capsys: pytest.CaptureFixture[str], line: str, expected: str
) -> None:
    assert govern_magic(line) is None
    text = output(capsys)
    assert expected in text
    assert "usage: %govern COMMAND" in text


def test_budgets_without_any_say_so(
    govern_magic: GovernMagic, capsys: pytest.CaptureFixture[str]
) -> None:
    assert govern_magic("budgets") is None
    assert output(capsys) == "govern: no budgets or rate limits are configured\n"


def test_budgets_of_every_tier(clean_session: Path) -> None:
    (clean_session.parent / "govern.toml").write_text(GOVERNED)
    govern_magic = GovernMagic(InteractiveShell.instance())
    frame = govern_magic("budgets")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["entity"]) == ["customer:acme", "team:eng", "key:nb", "key:nb"]
    assert list(frame["kind"]) == ["usd", "usd", "usd", "requests"]
    assert list(frame["spent"]) == [0, 0, 0, 0]
    assert frame["resets_at"].notna().all()


def test_budgets_of_a_remote_gateway_need_its_admin_key(
    clean_session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_session.parent / "govern.toml").write_text(GOVERNED)
    running = session.start()
    govern_magic = GovernMagic(InteractiveShell.instance())
    session.connect(running.url)
    assert govern_magic("budgets") is None
    assert "budgets need the gateway's admin key (missing admin key" in output(capsys)
    session.connect(running.url, admin_key=running.admin_key)
    frame = govern_magic("budgets")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 4


def test_catalog_query_lists_matching_models(govern_magic: GovernMagic) -> None:
    frame = govern_magic("catalog gpt-4o-mini --provider openai")
    assert isinstance(frame, pd.DataFrame) and not frame.empty
    assert set(frame["provider"]) == {"openai"}
    assert frame["model"].str.contains("gpt-4o-mini").all()
    row = frame.set_index("model").loc["gpt-4o-mini"]
    assert (row["input_per_mtok"], row["output_per_mtok"]) == (0.15, 0.6)


def test_env_exports_the_openai_variables(
    govern_magic: GovernMagic, capsys: pytest.CaptureFixture[str]
) -> None:
    govern_magic("env --key vk-1")
    running = session.embedded()
    assert running is not None
    assert f"OPENAI_BASE_URL={running.url}/v1" in output(capsys)
    assert os.environ["OPENAI_API_KEY"] == "vk-1"


def test_stop_then_stop_again(
    govern_magic: GovernMagic, capsys: pytest.CaptureFixture[str]
) -> None:
    govern_magic("stop")
    assert session.embedded() is None
    govern_magic("stop")
    text = output(capsys)
    assert "stopped the embedded gateway" in text
    assert "the embedded gateway is not running" in text


def test_start_with_a_missing_config_prints_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    GovernMagic(InteractiveShell.instance())("start --config nowhere.toml")
    assert output(capsys).startswith("govern: cannot read config file nowhere.toml")
    assert session.embedded() is None
