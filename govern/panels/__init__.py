"""Notebook panels (ipywidgets; the `[notebook]` extra): display the returned panel.

    >>> import govern.panels
    >>> govern.panels.catalog(trace)           # prices, and the cost of a usage per model
    >>> govern.panels.live_spend(refresh=5)    # spend of the running (or a remote) gateway
    >>> govern.panels.budget_simulator(trace)  # replay a trace through a budget hierarchy

Each panel keeps its widgets as attributes and the numbers behind its charts as
DataFrames, so it can be driven and checked from code as well as by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from govern.panels.catalog_panel import CatalogPanel
    from govern.panels.live_spend_panel import LiveSpendPanel
    from govern.panels.simulator_panel import BudgetSimulatorPanel

__all__ = ["budget_simulator", "catalog", "live_spend"]


def catalog(
    trace: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None, **kwargs: Any
) -> CatalogPanel:
    """Search and filter models; a sorted bar chart of the cost per model of a usage or trace."""
    from govern.panels.catalog_panel import CatalogPanel

    return CatalogPanel(trace, **kwargs)


def live_spend(refresh: float | None = 5, **kwargs: Any) -> LiveSpendPanel:
    """Spend of the gateway (embedded, or `url=`/`admin_key=`), refreshed every `refresh` s."""
    from govern.panels.live_spend_panel import LiveSpendPanel

    return LiveSpendPanel(refresh, **kwargs)


def budget_simulator(trace: pd.DataFrame | None = None, **kwargs: Any) -> BudgetSimulatorPanel:
    """Edit a customer > team > key tree of budgets and rate limits, pick a model mix, and
    see what `govern.whatif.simulate` says they would have done to `trace`."""
    from govern.panels.simulator_panel import BudgetSimulatorPanel

    return BudgetSimulatorPanel(trace, **kwargs)
