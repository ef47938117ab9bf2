"""Fixtures for the documentation tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresServer, PostgresUnavailable, start_server


@pytest.fixture(scope="session")
def docs_pg_server() -> Iterator[PostgresServer]:
    """A temporary PostgreSQL cluster for the tutorials that use one (skips, saying why,
    where PostgreSQL cannot run)."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()
