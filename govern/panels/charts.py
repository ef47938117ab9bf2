"""Charts as PNG bytes (matplotlib, no pyplot state), shown in `ipywidgets.Image`.

A PNG in an Image widget renders in every Jupyter frontend and survives a saved notebook;
the panels keep the numbers behind each chart for tests and for users.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from govern.notebook.deps import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH = 7.5


def _figure(height: float) -> tuple[Figure, Axes]:
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), dpi=96, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def dollars(value: float) -> str:
    """A dollar amount for a label: more decimals for small amounts."""
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.2g}" if abs(value) < 0.001 else f"${value:.4f}"


def bar_png(labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str) -> bytes:
    """A horizontal bar chart, first label on top, each bar labelled with its value."""
    figure, axes = _figure(max(2.0, 0.32 * len(labels) + 1.0))
    positions = list(range(len(labels)))
    axes.barh(positions, values, color="#4c72b0")
    axes.set_yticks(positions, labels=list(labels), fontsize=8)
    axes.invert_yaxis()
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel, fontsize=9)
    top = max(values, default=0.0)
    for y, value in zip(positions, values, strict=True):
        axes.text(value + top * 0.01, y, dollars(value), va="center", fontsize=7)
    axes.set_xlim(0, top * 1.18 if top > 0 else 1)
    return _png(figure)


def lines_png(
    x: Sequence[Any],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    ylabel: str,
    limits: Mapping[str, float] | None = None,
    step: bool = True,
) -> bytes:
    """One line per series over `x` (times), with optional dashed limit lines."""
    figure, axes = _figure(3.0)
    for name, values in series.items():
        if step:
            axes.step(list(x), list(values), where="post", label=name)
        else:
            axes.plot(list(x), list(values), label=name)
    for name, value in (limits or {}).items():
        axes.axhline(value, linestyle="--", linewidth=0.8, color="grey")
        axes.annotate(f"{name} limit", (0, value), xycoords=("axes fraction", "data"), fontsize=7)
    axes.set_title(title, fontsize=10)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.tick_params(labelsize=8)
    if series:
        axes.legend(fontsize=8)
    figure.autofmt_xdate()
    return _png(figure)
