"""MkDocs hooks for the documentation site (see mkdocs.yml).

- The notebooks in `notebooks/*.ipynb` (outside `docs/`) are added to the build, where
  mkdocs-jupyter renders them without running them, and to the nav under "Notebooks".
- `<!-- govern:openapi -->` in a page becomes the HTTP API reference rendered from the
  app's OpenAPI document; `<!-- govern:metrics -->` the Prometheus metrics table. Both are
  generated from the code at build time, so they cannot drift from it.
- The OpenAPI document itself is published as `openapi.json` in the built site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
_openapi: dict[str, Any] = {}


def notebooks() -> list[Path]:
    """The notebooks to render, in name order."""
    return sorted(NOTEBOOKS.glob("*.ipynb")) if NOTEBOOKS.is_dir() else []


def _title(path: Path) -> str:
    # 01-pricing-what-if.ipynb -> "Pricing what if"
    stem = path.stem.split("-", 1)[-1] if path.stem[:2].isdigit() else path.stem
    return stem.replace("-", " ").replace("_", " ").capitalize()


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Add a "Notebooks" nav section listing the notebooks present."""
    found = notebooks()
    if found and config.nav is not None:
        section = [{_title(p): f"notebooks/{p.name}"} for p in found]
        config.nav = [item for item in config.nav if "Notebooks" not in item]
        index = next((i for i, item in enumerate(config.nav) if "How-to" in item), None)
        config.nav.insert(len(config.nav) if index is None else index, {"Notebooks": section})
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which claims the .ipynb files
def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add `notebooks/*.ipynb` and the generated `openapi.json` to the site's files."""
    document = msgspec.json.format(msgspec.json.encode(_openapi_document()))
    files.append(File.generated(config, "openapi.json", content=document))
    for path in notebooks():
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def _openapi_document() -> dict[str, Any]:
    if not _openapi:
        from govern.apidoc import gateway_openapi

        _openapi.update(gateway_openapi())
    return _openapi


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace the generation markers with the generated reference."""
    if "<!-- govern:openapi -->" in markdown:
        from govern.apidoc import openapi_markdown

        markdown = markdown.replace(
            "<!-- govern:openapi -->", openapi_markdown(_openapi_document())
        )
    if "<!-- govern:metrics -->" in markdown:
        from govern.apidoc import metrics_markdown

        markdown = markdown.replace("<!-- govern:metrics -->", metrics_markdown())
    return markdown


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """`mkdocs serve` rebuilds when the code or a notebook changes, too."""
    server.watch(str(ROOT / "govern"))
    if NOTEBOOKS.is_dir():
        server.watch(str(NOTEBOOKS))
    return server
