"""The entity tables, as numbered forward migrations in the request log's database.

They live next to the request log's `requests` table but keep their own version table
(`governance_schema_version`), so either schema can move on without the other. A
migration is never edited once released: a change is a new step at the end.

List columns (allow lists, provider configs) hold JSON; money is decimal text, exact.
`fingerprint` is the hash of the config file's declaration last applied to the row
(NULL for entities the API created), so a start re-applies only what the file changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from govern.errors import ConfigError
from govern.logs.migrations import Migration

_COMMON = """source TEXT NOT NULL,
                fingerprint TEXT,
                created_at {timestamp} NOT NULL,
                updated_at {timestamp} NOT NULL"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "customers, teams, virtual keys, budgets, rate limits",
        (
            f"""CREATE TABLE governance_customers (
                id TEXT PRIMARY KEY,
                name TEXT,
                {_COMMON}
            )""",
            f"""CREATE TABLE governance_teams (
                id TEXT PRIMARY KEY,
                customer_id TEXT,
                name TEXT,
                {_COMMON}
            )""",
            f"""CREATE TABLE governance_virtual_keys (
                id TEXT PRIMARY KEY,
                key_hash TEXT NOT NULL UNIQUE,
                hint TEXT,
                team_id TEXT,
                customer_id TEXT,
                name TEXT,
                models TEXT,
                providers TEXT,
                prefer TEXT NOT NULL,
                active BOOLEAN NOT NULL,
                expires_at {{timestamp}},
                max_concurrent BIGINT,
                {_COMMON}
            )""",
            f"""CREATE TABLE governance_budgets (
                id TEXT PRIMARY KEY,
                owner_kind TEXT NOT NULL,
                owner_id TEXT NOT NULL,
                max_usd TEXT NOT NULL,
                reset_period TEXT NOT NULL,
                window_kind TEXT NOT NULL,
                mode TEXT NOT NULL,
                {_COMMON}
            )""",
            f"""CREATE TABLE governance_rate_limits (
                id TEXT PRIMARY KEY,
                owner_kind TEXT NOT NULL,
                owner_id TEXT NOT NULL,
                requests BIGINT,
                tokens BIGINT,
                token_count TEXT NOT NULL,
                reset_period TEXT NOT NULL,
                window_kind TEXT NOT NULL,
                {_COMMON}
            )""",
            "CREATE TABLE governance_revision (id INTEGER PRIMARY KEY, revision BIGINT NOT NULL)",
            "INSERT INTO governance_revision VALUES (1, 0)",
        ),
    ),
)
"""Every schema step, oldest first."""

CREATE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS governance_schema_version ("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at {timestamp} NOT NULL)"
)
CURRENT_VERSION = "SELECT COALESCE(MAX(version), 0) FROM governance_schema_version"
RECORD_VERSION = "INSERT INTO governance_schema_version VALUES (?, ?, ?)"


def pending(current: int, migrations: Sequence[Migration], where: str) -> list[Migration]:
    """The steps after version `current`; refuse a store newer than this code knows."""
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise ConfigError(
            f"governance entities in {where} have schema version {current}, newer than "
            f"this govern knows ({latest}): upgrade govern"
        )
    return [m for m in migrations if m.version > current]
