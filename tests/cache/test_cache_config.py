"""The `cache` config section."""

from __future__ import annotations

from typing import Any

import pytest

from govern.config import config_from_dict, validate
from govern.errors import ConfigError


def test_the_defaults_are_off_key_scoped_and_embedded() -> None:
    cache = config_from_dict({}).cache
    assert (cache.mode, cache.scope, cache.backend, cache.threshold) == (
        "off",
        "key",
        "embedded",
        0.92,
    )
    assert cache.embedding_model == "all-MiniLM-L6-v2"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"threshold": 1.5}, "cache.threshold"),
        ({"ttl_seconds": 0}, "cache.ttl_seconds"),
        ({"max_entries": 0}, "cache.max_entries"),
        ({"max_turns": 0}, "cache.max_turns"),
        ({"backend": "weaviate"}, "cache.weaviate_url"),
        ({"mode": "fuzzy"}, "cache.mode"),
        ({"weaviate_api_key": "env.GOVERN_TEST_UNSET_VARIABLE"}, "cache.weaviate_api_key"),
    ],
)
def test_invalid_values_are_errors_naming_the_field(section: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        config_from_dict({"cache": section})


def test_secrets_are_read_from_the_environment() -> None:
    config = config_from_dict(
        {"cache": {"backend": "weaviate", "weaviate_url": "http://127.0.0.1:8080"}}
    )
    config.cache.weaviate_api_key = "env.WEAVIATE_KEY"
    validate(config, {"WEAVIATE_KEY": "s3cret"})
    assert config.cache.weaviate_api_key == "s3cret"
