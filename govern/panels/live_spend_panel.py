"""`govern.panels.live_spend()`: what a gateway is spending, refreshed while you watch."""

from __future__ import annotations

import html
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from govern.notebook import session
from govern.notebook.sources import (
    LogSource,
    RemoteSource,
    SpendSource,
    source_for,
)
from govern.panels.base import Panel, table_html, widgets
from govern.panels.charts import dollars, lines_png

if TYPE_CHECKING:
    import pandas as pd

    from govern.logs.store import StoreSource

WINDOWS: dict[str, tuple[timedelta | None, str]] = {
    "last 15 minutes": (timedelta(minutes=15), "30s"),
    "last hour": (timedelta(hours=1), "2min"),
    "last day": (timedelta(days=1), "1h"),
    "last week": (timedelta(weeks=1), "6h"),
    "all time": (None, "1D"),
}
"""The time windows offered, with the period of the cost-over-time chart."""

WARN_AT = 0.8
"""A budget bar turns amber at this share of its limit, red at the limit."""


def bar_style(used: float, limit: float) -> str:
    """The progress bar style of a budget: `success`, `warning` near the limit, `danger` at it."""
    if limit <= 0 or used >= limit:
        return "danger"
    return "warning" if used >= WARN_AT * limit else "success"


def budget_bar(row: Any) -> Any:
    """One dollar budget (a row of `SpendSource.budgets()`) as a labelled progress bar."""
    w = widgets()
    limit = float(row["limit"])
    used = float(row["spent"] or 0) + float(row["reserved"] or 0)
    resets = row["resets_at"]
    when = (
        "never resets"
        if resets is None or resets != resets
        else f"resets {resets:%Y-%m-%d %H:%M} UTC"
    )
    return w.HBox(
        [
            w.Label(f"{row['entity']}", layout=w.Layout(width="16em")),
            w.FloatProgress(
                value=min(used, limit), min=0.0, max=limit or 1.0, bar_style=bar_style(used, limit)
            ),
            w.Label(f"{dollars(used)} of {dollars(limit)}, {when}"),
        ]
    )


def _usd(nanos: Any) -> str:
    return dollars(int(nanos) / 1e9)


class LiveSpendPanel(Panel):
    """Spend per model and over time, the latest requests, and budgets per tier."""

    def __init__(
        self,
        refresh: float | None = 5,
        *,
        url: str | None = None,
        admin_key: str | None = None,
        source: SpendSource | StoreSource | None = None,
        window: str = "last hour",
    ):
        w = widgets()
        self.source = self._source(url, admin_key, source)
        self.interval = refresh
        self.window = w.Dropdown(options=list(WINDOWS), value=window, description="window")
        self.auto = w.ToggleButton(value=bool(refresh), description="auto refresh")
        self.refresh_button = w.Button(description="refresh now")
        self.state = w.HTML()
        self.budget_box = w.VBox()
        self.by_model = w.HTML()
        self.chart = w.Image(format="png")
        self.latest = w.HTML()
        self.spend: pd.DataFrame | None = None
        self.timeline: pd.DataFrame | None = None
        self.requests: pd.DataFrame | None = None
        self.budgets: pd.DataFrame | None = None
        self.chart_data: pd.DataFrame | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self.refreshed = threading.Event()
        """Set after each refresh (clear it, then wait on it to see the next one)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.window.observe(lambda change: self.refresh(), names="value")
        self.refresh_button.on_click(lambda button: self.refresh())
        self.widget = w.VBox(
            [
                w.HBox([self.window, self.auto, self.refresh_button]),
                self.state,
                w.HTML("<b>Budgets</b>"),
                self.budget_box,
                w.HTML("<b>Spend per provider and model</b>"),
                self.by_model,
                self.chart,
                w.HTML("<b>Latest requests</b>"),
                self.latest,
            ]
        )
        self.refresh()
        if refresh:
            self.start(refresh)

    @staticmethod
    def _source(
        url: str | None, admin_key: str | None, source: SpendSource | StoreSource | None
    ) -> SpendSource:
        if url is not None:
            return RemoteSource(session.Remote(url=url.rstrip("/"), admin_key=admin_key))
        if source is None:
            return source_for(session.target())
        if isinstance(source, LogSource | RemoteSource):
            return source
        return LogSource(source)  # type: ignore[arg-type]

    def start(self, interval: float) -> None:
        """Refresh every `interval` seconds from a background thread (while `auto` is on)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                if self.auto.value:
                    self.refresh()

        self._thread = threading.Thread(target=loop, daemon=True, name="govern-live-spend")
        self._thread.start()

    def close(self) -> None:
        """Stop refreshing and close the widgets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        super().close()

    def refresh(self) -> None:
        """Read the source again and redraw; an error is shown, never raised."""
        with self._lock:
            span, freq = WINDOWS[self.window.value]
            since = None if span is None else datetime.now(UTC) - span
            try:
                self.spend = self.source.spend(["provider", "model_served"], since=since)
                self.timeline = self.source.spend(["provider"], since=since, freq=freq)
                self.requests = self.source.requests(limit=10, since=since)
                self.error = None
            except Exception as exc:  # shown in the panel: a refresh loop must go on
                self.error = str(exc)
            self._draw_budgets()
            self._draw()
        self.refreshed.set()

    def _draw_budgets(self) -> None:
        w = widgets()
        try:
            self.budgets = self.source.budgets()
        except Exception as exc:  # BudgetsUnavailable, or the gateway could not be asked
            self.budgets = None
            self.budget_box.children = [w.HTML(f"<i>{html.escape(str(exc))}</i>")]
            return
        dollars_only = self.budgets[self.budgets["kind"] == "usd"]
        if dollars_only.empty:
            self.budget_box.children = [w.HTML("<i>no budgets are configured</i>")]
            return
        self.budget_box.children = [budget_bar(row) for _, row in dollars_only.iterrows()]

    def _draw(self) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S UTC")
        where = html.escape(self.describe())
        if self.error is not None:
            self.state.value = f"<span style='color:#b00'>{html.escape(self.error)}</span>"
            return
        total = 0 if self.spend is None else int(self.spend["cost_nanos"].fillna(0).sum())
        self.state.value = f"{where}: {_usd(total)} in this window; updated {stamp}"
        spend = self.spend if self.spend is not None else None
        if spend is not None:
            self.by_model.value = table_html(
                spend.sort_values("cost_nanos", ascending=False, na_position="last"),
                {
                    "provider": "provider",
                    "model_served": "model",
                    "requests": "requests",
                    "input_tokens": "input tokens",
                    "output_tokens": "output tokens",
                    "cost_nanos": "cost",
                },
                {"cost_nanos": _usd},
                empty="no requests in this window",
            )
        self._draw_chart()
        if self.requests is not None:
            self.latest.value = table_html(
                self.requests,
                {
                    "ts": "time (UTC)",
                    "provider": "provider",
                    "model_served": "model",
                    "status": "status",
                    "input_tokens": "in",
                    "output_tokens": "out",
                    "cost_nanos": "cost",
                    "latency_ms": "ms",
                },
                {
                    "cost_nanos": _usd,
                    "ts": lambda t: t.strftime("%H:%M:%S"),
                    "latency_ms": lambda v: f"{v:.0f}",
                },
                empty="no requests in this window",
            )

    def _draw_chart(self) -> None:
        import pandas as pd

        frame = self.timeline
        if frame is None or frame.empty:
            self.chart.value = b""
            return
        span, freq = WINDOWS[self.window.value]
        table = frame.pivot_table(
            index="period", columns="provider", values="cost_nanos", aggfunc="sum", fill_value=0
        )
        now = pd.Timestamp.now(tz="UTC")
        first = table.index.min() if span is None else (now - span).floor(freq)
        periods = pd.date_range(min(first, table.index.min()), now.floor(freq), freq=freq)
        # Cumulative spend over the window: comparable with a budget at a glance.
        table = table.reindex(periods, fill_value=0).cumsum() / 1e9
        self.chart_data = table
        self.chart.value = lines_png(
            list(table.index),
            {str(p): [float(v) for v in table[p]] for p in table.columns},
            title=f"Cumulative cost, {self.window.value} (per {freq})",
            ylabel="US dollars",
        )

    def describe(self) -> str:
        """Which gateway the panel watches."""
        source = self.source
        if isinstance(source, RemoteSource):
            return f"remote gateway {source.remote.url}"
        if isinstance(source, LogSource):
            return f"request log {source.source}"
        return type(source).__name__
