"""Every tutorial runs as written: its blocks in order, against a real gateway process.

Blocks titled `needs ...` are illustrative (a real provider key, an AWS account): they
are syntax-checked, skipped, and listed in `ILLUSTRATIVE`, so a new one is a decision.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from govern.sim.server import SimUpstreamThread
from tests.conftest import ROOT
from tests.docs.blocks import Block, blocks
from tests.docs.runner import PageRun
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer

TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))

ILLUSTRATIVE: Counter[tuple[str, str]] = Counter(
    {
        ("docs/tutorials/first-call.md", "needs AWS credentials with Bedrock access"): 1,
        ("docs/tutorials/bedrock.md", "needs AWS credentials with Bedrock access"): 2,
    }
)
"""(page, title) of each block the tests skip, with how many such blocks the page has."""

PROVIDER_ENV = (
    "GOVERN_CONFIG",
    "GOVERN_DATA_DIR",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def illustrative_blocks() -> list[Block]:
    """The blocks tagged `needs ...` in every tutorial."""
    return [b for page in TUTORIALS for b in blocks(page, ROOT) if b.illustrative]


DOCUMENTED_DSN = "postgresql://govern:secret@127.0.0.1:5432/govern"
"""The PostgreSQL server the tutorials show; the tests put a real one in its place."""
DOCUMENTED_REDIS = "redis://127.0.0.1:6379/0"
"""The Redis server the tutorials show; the tests put a real one in its place."""


@pytest.fixture
def reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_upstream: SimUpstreamThread
) -> PageRun:
    """A reader's fresh shell: an empty directory, no provider keys in the environment."""
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return PageRun(ROOT, sim_upstream, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_as_written(
    page: Path, reader: PageRun, request: pytest.FixtureRequest
) -> None:
    if DOCUMENTED_DSN in page.read_text():
        server: PostgresServer = request.getfixturevalue("docs_pg_server")
        reader.map_text(DOCUMENTED_DSN, server.dsn(server.create_database()))
    if DOCUMENTED_REDIS in page.read_text():
        redis: RedisServer = request.getfixturevalue("docs_redis_server")
        reader.map_text(DOCUMENTED_REDIS, redis.url)
    try:
        reader.run(blocks(page, ROOT))
    finally:
        reader.stop()


@pytest.mark.parametrize("block", illustrative_blocks(), ids=lambda b: b.where)
def test_illustrative_block(block: Block) -> None:
    if block.lang == "python":
        compile(block.code, block.where, "exec")
    pytest.skip(f"illustrative, {block.title}")


def test_illustrative_blocks_are_the_listed_ones() -> None:
    found = Counter((b.page, b.title) for b in illustrative_blocks())
    assert found == ILLUSTRATIVE
