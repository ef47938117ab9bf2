"""Every configuration example in the docs and the README loads, prices and validates.

A fenced block titled `govern.toml` (`.yaml`, `.json`) is a config file; in the README,
every TOML block is. Each is loaded with `load_config`, with the `env.NAME` secrets it
names set to placeholders, and its pricing built into a `Catalog` (which checks that
every `pricing_as` target exists).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from govern.catalog import Catalog
from govern.config import load_config
from tests.conftest import ROOT
from tests.docs.blocks import Block, blocks

PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]


def config_blocks() -> list[Block]:
    """The config file examples of every page."""
    found = []
    for page in PAGES:
        for block in blocks(page, ROOT):
            named = (block.file_name or "").startswith("govern.")
            if named or (page.name == "README.md" and block.lang == "toml"):
                found.append(block)
    return found


def test_there_are_config_examples() -> None:
    assert len(config_blocks()) >= 10


@pytest.mark.parametrize("block", config_blocks(), ids=lambda b: b.where)
def test_config_example_loads(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in re.findall(r"env\.([A-Z_][A-Z0-9_]*)", block.code):
        monkeypatch.setenv(name, f"placeholder-{name.lower()}")
    suffix = Path(block.file_name).suffix if block.file_name else ".toml"
    path = tmp_path / f"govern{suffix}"
    path.write_text(block.code)
    config = load_config(path)
    Catalog(config.pricing).close()
