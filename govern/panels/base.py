"""What every panel shares: its root widget, display, and small HTML tables."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from govern.notebook.deps import require

if TYPE_CHECKING:
    import pandas as pd


def widgets() -> Any:
    """The `ipywidgets` module (ImportError naming the `[notebook]` extra if missing)."""
    return require("ipywidgets")


class Panel:
    """A panel: `widget` is its root ipywidget; displaying the panel displays it."""

    widget: Any

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close the panel's widgets (and stop anything it runs)."""
        self.widget.close()


def table_html(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    *,
    limit: int = 25,
    empty: str = "nothing to show",
) -> str:
    """A compact HTML table of `columns` (name -> heading), at most `limit` rows."""
    if frame.empty:
        return f"<i>{html.escape(empty)}</i>"
    formats = formats or {}
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in columns.values())
    body = []
    for _, row in frame.head(limit).iterrows():
        cells = []
        for name in columns:
            value = row[name]
            text = "" if _missing(value) else formats.get(name, str)(value)
            cells.append(f"<td style='text-align:left'>{html.escape(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = len(frame) - limit
    note = f"<div><i>{more} more not shown</i></div>" if more > 0 else ""
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{note}"


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def per_mtok(value: Any) -> str:
    """A rate in dollars per million tokens."""
    return f"${float(value):,.4g}"


def choices(options: Sequence[str], first: str) -> list[str]:
    """Dropdown options: `first`, then the sorted distinct `options`."""
    return [first, *sorted(set(options))]
