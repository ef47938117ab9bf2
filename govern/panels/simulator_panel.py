"""`govern.panels.budget_simulator()`: edit a customer > team > key tree of budgets and
rate limits, pick a model mix, and replay a trace through it with `govern.whatif.simulate`."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from govern.panels.base import Panel, table_html, widgets
from govern.panels.charts import lines_png

if TYPE_CHECKING:
    import pandas as pd

    from govern.catalog.catalog import Catalog
    from govern.whatif.simulate import Simulation

RESETS = ["1m", "1h", "1d", "1w", "1M", "never"]
TIERS = ("customer", "team", "key")
DEFAULTS: dict[str, dict[str, Any]] = {
    "customer": {"id": "acme", "usd": "100", "reset": "1M"},
    "team": {"id": "eng", "usd": "20", "reset": "1d"},
    "key": {"id": "notebook", "usd": "2", "reset": "1h", "requests": "300"},
}


def _optional_int(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"{what}: must be >= 0")
    return value


class TierEditor:
    """One tier's entity: on or off, its id, a budget and a rate limit."""

    def __init__(self, tier: str, values: Mapping[str, Any]):
        w = widgets()
        self.tier = tier
        self.enabled = w.Checkbox(value=True, description=tier, indent=False)
        self.entity_id = w.Text(value=values.get("id", tier), description="id")
        self.usd = w.Text(value=str(values.get("usd", "")), description="budget $")
        self.reset = w.Dropdown(options=RESETS, value=values.get("reset", "1d"), description="per")
        self.requests = w.Text(value=str(values.get("requests", "")), description="requests")
        self.tokens = w.Text(value=str(values.get("tokens", "")), description="tokens")
        self.rate_reset = w.Dropdown(
            options=RESETS, value=values.get("rate_reset", "1m"), description="per"
        )
        self.concurrent = w.Text(value=str(values.get("concurrent", "")), description="in flight")
        first = [self.enabled, self.entity_id, self.usd, self.reset]
        second = [self.requests, self.tokens, self.rate_reset]
        if tier == "key":
            second.append(self.concurrent)
        self.widget = w.VBox([w.HBox(first), w.HBox(second)])

    def spec(self) -> dict[str, Any]:
        """The entity as the `[governance]` section declares it (ValueError if bad)."""
        where = f"{self.tier} {self.entity_id.value!r}"
        spec: dict[str, Any] = {"id": self.entity_id.value.strip()}
        usd = self.usd.value.strip()
        if usd:
            try:
                amount = Decimal(usd)
            except InvalidOperation:
                raise ValueError(f"{where} budget: {usd!r} is not an amount of dollars") from None
            spec["budgets"] = [{"max_usd": str(amount), "reset": self.reset.value}]
        requests = _optional_int(self.requests.value, f"{where} requests")
        tokens = _optional_int(self.tokens.value, f"{where} tokens")
        if requests is not None or tokens is not None:
            limit: dict[str, Any] = {"reset": self.rate_reset.value}
            limit.update(
                {k: v for k, v in (("requests", requests), ("tokens", tokens)) if v is not None}
            )
            spec["rate_limits"] = [limit]
        concurrent = _optional_int(self.concurrent.value, f"{where} in flight")
        if self.tier == "key" and concurrent is not None:
            spec["max_concurrent"] = concurrent
        return spec


def parse_mix(text: str) -> dict[str, float]:
    """`provider/model=weight` per line or comma (weight 1 when left out)."""
    mix: dict[str, float] = {}
    for part in text.replace(",", "\n").splitlines():
        if not part.strip():
            continue
        name, _, weight = part.partition("=")
        try:
            mix[name.strip()] = float(weight) if weight.strip() else 1.0
        except ValueError:
            raise ValueError(f"model mix: {weight.strip()!r} is not a weight") from None
    if not mix:
        raise ValueError("model mix: name at least one model, e.g. openai/gpt-4o-mini=3")
    return mix


class BudgetSimulatorPanel(Panel):
    """Replays a trace through the hierarchy its editors describe, on demand."""

    def __init__(
        self,
        trace: pd.DataFrame | None = None,
        *,
        tiers: Mapping[str, Mapping[str, Any]] | None = None,
        mix: str = "openai/gpt-4o-mini=3\nopenai/gpt-4o=1",
        start: datetime | None = None,
        catalog: Catalog | None = None,
        draw: bool = True,
    ):
        if trace is None:
            from govern.traces import load

            trace = load("conv")
        w = widgets()
        self.trace = trace
        self.start = start
        self.catalog = catalog
        self.draw = draw
        self.editors = {t: TierEditor(t, (tiers or DEFAULTS).get(t, DEFAULTS[t])) for t in TIERS}
        self.mix = w.Textarea(value=mix, description="model mix", rows=3)
        self.duration = w.BoundedFloatText(value=0.0, min=0.0, max=3600.0, description="call secs")
        self.run_button = w.Button(description="simulate", button_style="primary")
        self.state = w.HTML()
        self.table = w.HTML()
        self.chart = w.Image(format="png")
        self.declaration = w.HTML()
        self.result: Simulation | None = None
        self.error: str | None = None
        self.run_button.on_click(lambda button: self.run())
        self.widget = w.VBox(
            [
                w.HTML("<b>Budget hierarchy</b> (blank: no limit at that tier)"),
                *(e.widget for e in self.editors.values()),
                w.HBox([self.mix, w.VBox([self.duration, self.run_button])]),
                self.state,
                self.table,
                self.chart,
                self.declaration,
            ]
        )
        self.state.value = f"<i>{len(trace):,} requests ready: press simulate</i>"

    def hierarchy(self) -> dict[str, Any]:
        """The `[governance]` section the editors describe."""
        on = {t: e for t, e in self.editors.items() if e.enabled.value}
        if "key" not in on:
            raise ValueError("the key tier cannot be switched off: the trace calls with a key")
        section: dict[str, Any] = {"customers": [], "teams": [], "virtual_keys": []}
        customer = on["customer"].spec() if "customer" in on else None
        team = on["team"].spec() if "team" in on else None
        key = on["key"].spec()
        if customer is not None:
            section["customers"].append(customer)
        if team is not None:
            section["teams"].append({**team, **({"customer": customer["id"]} if customer else {})})
            key["team"] = team["id"]
        elif customer is not None:
            key["customer"] = customer["id"]
        section["virtual_keys"].append(key)
        return section

    def run(self) -> None:
        """Simulate with the current values; an error is shown, not raised."""
        from govern.whatif.simulate import simulate

        try:
            hierarchy = self.hierarchy()
            self.result = simulate(
                hierarchy,
                self.trace,
                parse_mix(self.mix.value),
                start=self.start,
                duration=float(self.duration.value),
                catalog=self.catalog,
            )
            self.error = None
        except (ValueError, LookupError) as exc:
            self.result, self.error = None, str(exc)
            self.state.value = f"<span style='color:#b00'>{html.escape(self.error)}</span>"
            return
        self.declaration.value = _declaration(hierarchy)
        self._show(self.result)

    def _show(self, result: Simulation) -> None:
        requests = result.requests
        admitted = int(requests["admitted"].sum())
        counts = requests[~requests["admitted"]].groupby("status").size().to_dict()
        rejected = ", ".join(f"{n:,} with {status}" for status, n in sorted(counts.items()))
        spent = int(requests["cost_nanos"].sum()) / 1e9
        self.state.value = (
            f"<b>{admitted:,}</b> of {len(requests):,} requests admitted"
            f"{'; rejected: ' + rejected if rejected else ''}; spent ${spent:,.4f}"
        )
        self.table.value = table_html(
            result.summary,
            {
                "tier": "tier",
                "entity": "entity",
                "kind": "limit on",
                "period": "per",
                "limit": "limit",
                "charged": "charged",
                "rejected": "rejected",
                "first_rejected": "first ran out",
            },
            {"first_rejected": lambda t: t.strftime("%Y-%m-%d %H:%M:%S")},
        )
        self._chart(result)

    def _chart(self, result: Simulation) -> None:
        steps = result.timeline[result.timeline["kind"] == "usd"]
        if steps.empty or not self.draw:
            self.chart.value = b""
            return
        # Every admitted call counts on every budget here (no provider configs), so the
        # budgets share one x axis: the admitted calls' times.
        times = steps.drop_duplicates("row")["ts"].tolist()
        series = {}
        for _, rows in steps.groupby("cap", sort=False):
            if len(rows) == len(times):
                label = f"{rows['tier'].iloc[0]} {rows['entity'].iloc[0]}"
                series[label] = (rows["used_share"] * 100).tolist()
        self.chart.value = lines_png(
            times,
            series,
            title="Share of each budget used in its current window",
            ylabel="% of budget",
            limits={"budget": 100.0},
        )


def _declaration(hierarchy: Mapping[str, Any]) -> str:
    """The hierarchy as the `[governance]` section of a govern.toml, to copy."""
    lines = []
    for table, items in (
        ("customers", "customers"),
        ("teams", "teams"),
        ("virtual_keys", "virtual_keys"),
    ):
        for item in hierarchy[items]:
            lines.append(f"[[governance.{table}]]")
            for name, value in item.items():
                lines.append(f"{name} = {_toml(value)}")
            lines.append("")
    text = html.escape("\n".join(lines))
    return f"<details><summary>as govern.toml</summary><pre>{text}</pre></details>"


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)
