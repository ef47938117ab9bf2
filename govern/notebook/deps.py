"""The notebook extra's packages, imported on first use."""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = "pip install 'govern[notebook]'"


def require(module: str) -> ModuleType:
    """Import `module` from the `[notebook]` extra, or raise ImportError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module} is needed for govern's notebook extension and panels: {INSTALL_HINT}"
        ) from exc
