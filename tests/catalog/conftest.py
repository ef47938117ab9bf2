"""Catalog fixtures: the bundled genai-prices data, read once, at a fixed date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from govern.catalog import Catalog

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
"""Pinned costs are worked out from the prices in force on this date in the bundled data."""


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """A catalog of the bundled data with no overrides."""
    return Catalog()
