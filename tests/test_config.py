"""Configuration: the three file formats, secrets, validation messages, the reference page."""

from __future__ import annotations

from pathlib import Path

import pytest

from govern.config import ConfigError, config_from_dict, default_config, load_config
from govern.configdoc import render
from tests.conftest import ROOT

TOML = """
[providers.openai]
keys = [{ name = "a", value = "env.TEST_OPENAI_KEY", weight = 3, models = ["gpt-4o-mini"] }]
max_retries = 1

[providers.bedrock]
region = "eu-west-1"
keys = [{ name = "aws", aws_access_key_id = "AKID", aws_secret_access_key = "env.TEST_AWS" }]

[server]
port = 4100
"""

YAML = """
providers:
  groq:
    kind: openai
    base_url: https://api.groq.com/openai/v1
    keys: [{name: main, value: gsk-literal}]
"""

JSON = '{"providers": {"sim": {"models": ["m1", "m2"], "latency_ms": 5}}}'


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-secret-openai")
    monkeypatch.setenv("TEST_AWS", "aws-secret")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_with_env_secrets(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "govern.toml", TOML))
    assert config.providers["openai"].keys[0].value == "sk-secret-openai"
    assert config.providers["bedrock"].keys[0].aws_secret_access_key == "aws-secret"
    assert config.server.port == 4100


def test_yaml_and_json(tmp_path: Path) -> None:
    yaml = load_config(write(tmp_path, "g.yaml", YAML))
    assert yaml.provider_kind("groq") == "openai"
    json = load_config(write(tmp_path, "g.json", JSON))
    assert json.providers["sim"].models == ["m1", "m2"]


def test_secret_never_in_repr(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "govern.toml", TOML))
    assert "sk-secret-openai" not in repr(config)
    assert "aws-secret" not in repr(config)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"providers": {"openai": {"timeout": "slow"}}},
            "Expected `float`, got `str` - at `providers.openai.timeout`",
        ),
        ({"providers": {"sim": {"modles": []}}}, "unknown field `modles`"),
        ({"providers": {"groq": {"keys": []}}}, "providers.groq.kind: expected one of"),
        (
            {"providers": {"openai": {"keys": [{"name": "a"}]}}},
            "providers.openai.keys[0].value: an API key is required",
        ),
        (
            {"providers": {"openai": {"keys": [{"value": "env.NOPE_NOT_SET"}]}}},
            "environment variable NOPE_NOT_SET is not set",
        ),
        ({"providers": {"sim": {"max_retries": -1}}}, "providers.sim.max_retries"),
        ({"providers": {"a/b": {"kind": "sim"}}}, "contain no '/'"),
        ({"server": {"port": 0}}, "server.port"),
    ],
)
def test_invalid_config_names_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert message in info.value.message


def test_bad_file_type_and_syntax(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must end in"):
        load_config(write(tmp_path, "govern.ini", "x"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "govern.toml", "[providers"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_default_config_adds_providers_with_keys_in_env() -> None:
    offline = default_config({})
    assert list(offline.providers) == ["sim"]
    live = default_config(
        {"OPENAI_API_KEY": "sk-x", "ANTHROPIC_API_KEY": "sk-ant-x", "AWS_ACCESS_KEY_ID": "AKID"}
    )
    assert list(live.providers) == ["openai", "anthropic", "bedrock", "sim"]
    assert live.providers["openai"].keys[0].value == "sk-x"


def test_configuration_reference_is_up_to_date() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    assert page == render(), "run: .venv/bin/python -m govern.configdoc > docs/configuration.md"
