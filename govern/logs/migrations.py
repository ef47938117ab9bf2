"""The request log's schema, as numbered forward migrations applied in order at open.

A migration is never edited once released: a schema change is a new step at the end.
Both stores run the same steps; `{placeholders}` name the few types that differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from govern.errors import ConfigError
from govern.logs.dialect import Dialect


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version and the statements that reach it from the previous."""

    version: int
    description: str
    statements: tuple[str, ...]

    def sql(self, dialect: Dialect) -> list[str]:
        """The statements in `dialect`'s types."""
        return [s.format(**dialect.types) for s in self.statements]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "requests table",
        (
            """CREATE TABLE requests (
                id {id},
                request_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                ts {timestamp} NOT NULL,
                latency_ms {real} NOT NULL,
                ttft_ms {real},
                customer_id TEXT,
                team_id TEXT,
                virtual_key_id TEXT,
                provider TEXT,
                model_requested TEXT NOT NULL,
                model_served TEXT,
                key_name TEXT,
                fallback_index INTEGER NOT NULL,
                stream BOOLEAN NOT NULL,
                status INTEGER NOT NULL,
                error_type TEXT,
                input_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                cache_write_5m_tokens BIGINT NOT NULL,
                cache_write_1h_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                cost_input_nanos BIGINT,
                cost_cache_read_nanos BIGINT,
                cost_cache_write_5m_nanos BIGINT,
                cost_cache_write_1h_nanos BIGINT,
                cost_output_nanos BIGINT,
                cost_reasoning_nanos BIGINT,
                cost_nanos BIGINT,
                unpriced BOOLEAN NOT NULL,
                price_source TEXT,
                cache TEXT NOT NULL DEFAULT 'miss',
                saved_nanos BIGINT,
                prompt TEXT,
                completion TEXT
            )""",
        ),
    ),
    Migration(
        2,
        "indexes for time ranges, request lookups and per-principal spend",
        (
            "CREATE INDEX requests_ts ON requests (ts)",
            "CREATE INDEX requests_request_id ON requests (request_id)",
            "CREATE INDEX requests_customer_ts ON requests (customer_id, ts)",
        ),
    ),
    Migration(
        3,
        "the virtual key's provider config that served an attempt",
        (
            "ALTER TABLE requests ADD COLUMN provider_config TEXT",
            "CREATE INDEX requests_virtual_key_ts ON requests (virtual_key_id, ts)",
        ),
    ),
)
"""Every schema step, oldest first; the latest version is the last one's."""

CREATE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at {timestamp} NOT NULL)"
)
CURRENT_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_version"


def pending(current: int, migrations: Sequence[Migration], where: str) -> list[Migration]:
    """The steps after version `current`; refuse a store newer than this code knows."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ConfigError("request log migrations must have increasing versions")
    latest = versions[-1] if versions else 0
    if current > latest:
        raise ConfigError(
            f"request log {where} has schema version {current}, newer than this govern "
            f"knows ({latest}): upgrade govern"
        )
    return [m for m in migrations if m.version > current]
