"""The `log` section of the config: what the request log accepts."""

from __future__ import annotations

import pytest

from govern.config import config_from_dict
from govern.errors import ConfigError


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ({"batch_size": 0}, "log.batch_size: must be >= 1"),
        ({"queue_size": 0}, "log.queue_size: must be >= 1"),
        ({"flush_interval_ms": -1}, "log.flush_interval_ms: must be >= 0"),
        ({"store": "postgres"}, "log.postgres_dsn: required"),
    ],
)
def test_invalid_log_settings_are_named(log: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"log": log})


def test_the_dsn_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_DSN", "host=/tmp dbname=govern")
    config = config_from_dict({"log": {"store": "postgres", "postgres_dsn": "env.LOG_DSN"}})
    assert config.log.postgres_dsn == "host=/tmp dbname=govern"
