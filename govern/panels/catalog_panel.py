"""`govern.panels.catalog()`: search the model catalog and chart what a usage (or a whole
trace) costs at each matching model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from govern.catalog.cost import NoOutputPrice, cost, to_nanos
from govern.panels.base import Panel, choices, per_mtok, table_html, widgets
from govern.panels.charts import bar_png, dollars
from govern.usage import Usage
from govern.whatif.reprice import token_table
from govern.whatif.totals import TokenTotals

if TYPE_CHECKING:
    import pandas as pd

    from govern.catalog.catalog import Catalog
    from govern.catalog.prices import Price

ALL_PROVIDERS = "all providers"
USAGE = "the usage below"

MODEL_COLUMNS = {
    "ref": "model",
    "input_per_mtok": "input /1M",
    "output_per_mtok": "output /1M",
    "cache_read_per_mtok": "cache read /1M",
    "cache_write_5m_per_mtok": "cache write /1M",
    "context_window": "context",
}


def price_index(catalog: Catalog, at: datetime | None = None) -> dict[str, Price]:
    """Every listed model's price by the `provider/model` name the catalog lists it
    under (the name `lookup` resolves: overrides and aliases included)."""
    prices: dict[str, Price] = {}
    for name in catalog.listed():
        found = catalog.lookup(name, at=at)
        if found is not None:
            prices[name] = found.price
    for override in catalog.overrides:
        if override.key is None and override.virtual_key is None and override.provider:
            ref = f"{override.provider}/{override.model}"
            found = catalog.lookup(ref, at=at)
            if found is not None:
                prices[ref] = found.price
    return prices


class CatalogPanel(Panel):
    """Search and filter the catalog; the cheapest matching models for a usage or trace."""

    def __init__(
        self,
        trace: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
        *,
        catalog: Catalog | None = None,
        top: int = 15,
        at: datetime | None = None,
        draw: bool = True,
    ):
        if catalog is None:
            from govern.catalog import default_catalog

            catalog = default_catalog()
        w = widgets()
        listed = catalog.models(at=at)
        listed.insert(0, "ref", listed["provider"] + "/" + listed["model"])
        self.prices = price_index(catalog, at)
        self.all_models = listed[listed["ref"].isin(self.prices)].drop_duplicates("ref")
        if trace is None:
            trace = {}
        self.traces = {"trace": trace} if not isinstance(trace, Mapping) else dict(trace)
        self._totals: dict[tuple[str, float], TokenTotals] = {}
        self.draw = draw
        """Render the chart (off: only the numbers behind it are kept up to date)."""

        self.search = w.Text(description="search", placeholder="gpt-4o, sonnet, llama ...")
        self.provider = w.Dropdown(
            description="provider",
            options=choices(self.all_models["provider"].tolist(), ALL_PROVIDERS),
        )
        self.include_deprecated = w.Checkbox(value=False, description="include deprecated")
        self.source = w.Dropdown(description="cost of", options=[USAGE, *self.traces])
        self.input_tokens = w.BoundedIntText(
            value=1000, min=0, max=100_000_000, description="input tokens"
        )
        self.output_tokens = w.BoundedIntText(
            value=500, min=0, max=100_000_000, description="output tokens"
        )
        self.cache_share = w.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.05, description="cache share"
        )
        self.top = w.IntSlider(value=top, min=3, max=40, description="chart top")
        self.table = w.HTML()
        self.summary = w.HTML()
        self.chart = w.Image(format="png")
        self.models: pd.DataFrame = self.all_models
        self.costs: pd.DataFrame = self.all_models.iloc[0:0]
        self.skipped: list[str] = []
        controls = [self.search, self.provider, self.include_deprecated, self.source]
        controls += [self.input_tokens, self.output_tokens, self.cache_share, self.top]
        for control in controls:
            control.observe(self._changed, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.search, self.provider, self.include_deprecated]),
                w.HBox([self.source, self.input_tokens, self.output_tokens]),
                w.HBox([self.cache_share, self.top]),
                self.summary,
                self.chart,
                w.HTML("<b>Matching models</b> (US dollars per million tokens)"),
                self.table,
            ]
        )
        self.update()

    def _changed(self, change: Any) -> None:
        self.update()

    def filtered(self) -> pd.DataFrame:
        """The models the search, provider and deprecation filters leave."""
        frame = self.all_models
        if not self.include_deprecated.value:
            frame = frame[~frame["deprecated"].astype(bool)]
        if self.provider.value != ALL_PROVIDERS:
            frame = frame[frame["provider"] == self.provider.value]
        query = self.search.value.strip().lower()
        if query:
            names = frame["name"].fillna("").str.lower()
            refs = frame["ref"].str.lower()
            frame = frame[
                refs.str.contains(query, regex=False) | names.str.contains(query, regex=False)
            ]
        return frame.reset_index(drop=True)

    def usage(self) -> Usage:
        """The usage set with the token fields and the cache share."""
        inputs = int(self.input_tokens.value)
        return Usage(
            input_tokens=inputs,
            cache_read_tokens=round(inputs * float(self.cache_share.value)),
            output_tokens=int(self.output_tokens.value),
        )

    def trace_totals(self) -> TokenTotals | None:
        """The chosen trace's tokens (cache share applied), or None for the usage."""
        name = self.source.value
        if name == USAGE:
            return None
        share = float(self.cache_share.value)
        key = (name, share)
        if key not in self._totals:
            table, _, _ = token_table(self.traces[name])
            table["cache_read_tokens"] = (table["input_tokens"] * share).astype("int64")
            self._totals = {key: TokenTotals(table)}
        return self._totals[key]

    def update(self) -> None:
        """Recompute the table, the costs and the chart from the widgets' values."""
        import pandas as pd

        self.models = self.filtered()
        self.table.value = table_html(
            self.models,
            MODEL_COLUMNS,
            {c: per_mtok for c in MODEL_COLUMNS if c.endswith("_mtok")}
            | {"context_window": lambda v: f"{int(v):,}"},
            empty="no model matches",
        )
        totals = self.trace_totals()
        usage = self.usage()
        rows, self.skipped = [], []
        for ref in self.models["ref"]:
            price = self.prices[ref]
            try:
                amount = cost(usage, price).total if totals is None else totals.cost(price)
            except NoOutputPrice:
                self.skipped.append(ref)
                continue
            rows.append({"model": ref, "cost": amount})
        frame = pd.DataFrame(rows, columns=["model", "cost"])
        frame["cost_nanos"] = [to_nanos(c) for c in frame["cost"]]
        frame["cost_usd"] = [float(c) for c in frame["cost"]]
        self.costs = frame.sort_values(["cost_nanos", "model"], kind="stable").reset_index(
            drop=True
        )
        self._draw(totals)

    def _draw(self, totals: TokenTotals | None) -> None:
        shown = self.costs.head(int(self.top.value))
        if totals is None:
            u = self.usage()
            what = f"one request: {u.input_tokens:,} in ({u.cache_read_tokens:,} cached), "
            what += f"{u.output_tokens:,} out"
        else:
            what = f"{self.source.value}: {totals.requests:,} requests"
        skipped = f"; {len(self.skipped)} input-only models left out" if self.skipped else ""
        self.summary.value = f"<b>{len(self.costs)}</b> models priced for {what}{skipped}. " + (
            f"Cheapest: <b>{shown['model'].iloc[0]}</b> at {dollars(shown['cost_usd'].iloc[0])}"
            if not shown.empty
            else ""
        )
        if shown.empty or not self.draw:
            self.chart.value = b""
            return
        self.chart.value = bar_png(
            list(shown["model"]),
            list(shown["cost_usd"]),
            title=f"Cost per model, cheapest {len(shown)} ({what})",
            xlabel="US dollars",
        )

    def cost_of(self, ref: str) -> Decimal:
        """The exact cost at model `ref` as last computed (KeyError if not shown)."""
        match = self.costs[self.costs["model"] == ref]
        if match.empty:
            raise KeyError(ref)
        return Decimal(match["cost"].iloc[0])
