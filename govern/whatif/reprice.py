"""`reprice`: what a request log or a trace would have cost at other models or prices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from govern.catalog.cost import NoOutputPrice, from_nanos
from govern.catalog.frames import TRACE_COLUMNS
from govern.catalog.prices import Price, PriceResult, TokenRates
from govern.whatif.rates import TOKEN_FIELDS, row_nanos

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from govern.catalog.catalog import Catalog

    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]

PriceSpec = Price | PriceResult | TokenRates | Mapping[str, Decimal | str | int | float]
"""A price: a catalog `Price`, or rates in dollars per million tokens such as
`{"input": "0.15", "output": "0.60", "cache_read": "0.075"}` (missing cache rates
default as providers bill them: see `TokenRates.of`)."""


@dataclass(frozen=True)
class Repricing:
    """The result of `reprice`: `rows` (one per input row and scenario) and `totals`
    (one per scenario, cheapest first). `*_nanos` columns are exact integer
    nano-dollars; `*_usd` and `savings_pct` are floats for display only."""

    rows: pd.DataFrame
    totals: pd.DataFrame

    def total(self, scenario: str) -> Decimal:
        """A scenario's exact total in dollars."""
        match = self.totals[self.totals["scenario"] == scenario]
        if match.empty:
            raise KeyError(f"no scenario {scenario!r}; scenarios: {list(self.totals['scenario'])}")
        return from_nanos(int(match["cost_nanos"].iloc[0]))

    def _repr_html_(self) -> str:
        return str(self.totals._repr_html_())  # type: ignore[operator]


def _price_of(name: str, spec: PriceSpec) -> Price:
    if isinstance(spec, PriceResult):
        return spec.price
    if isinstance(spec, Price):
        return spec
    if isinstance(spec, TokenRates):
        return Price.with_tiers(spec)
    unknown = set(spec) - set(TokenRates.__struct_fields__)
    if unknown or "input" not in spec:
        raise ValueError(
            f"prices[{name!r}]: give rates per million tokens for input (required), output, "
            f"cache_read, cache_write_5m, cache_write_1h, reasoning; got {sorted(spec)}"
        )
    rates = {k: Decimal(str(v)) for k, v in spec.items()}
    try:
        return Price.with_tiers(TokenRates.of(**rates))
    except ValueError as exc:
        raise ValueError(f"prices[{name!r}]: {exc}") from None


def scenarios(
    models: Sequence[str] | None,
    prices: Mapping[str, PriceSpec] | None,
    catalog: Catalog,
    at: datetime | None,
) -> dict[str, tuple[Price, str]]:
    """Each scenario's name, price and where the price came from."""
    out: dict[str, tuple[Price, str]] = {}
    for ref in models or ():
        result = catalog.lookup(ref, at=at)
        if result is None:
            raise LookupError(f"no price for {ref}; see govern.catalog.models()")
        out[ref] = (result.price, result.source or "catalog")
    for name, spec in (prices or {}).items():
        out[name] = (_price_of(name, spec), "prices")
    if not out:
        raise ValueError("reprice needs models=[...] or prices={...}")
    return out


def token_table(data: pd.DataFrame) -> tuple[pd.DataFrame, IntArray | None, BoolArray | None]:
    """The rows to price as integer `Usage` columns, their logged cost in nano-dollars
    (a log; None for a trace; -1 where a logged row is unpriced) and a cache-hit mask.

    A log keeps its upstream attempts (rejections, `attempt == 0`, had no call)."""
    import numpy as np

    is_log = "cost_nanos" in data.columns
    if is_log and "attempt" in data.columns:
        data = data[data["attempt"] > 0]
    frame = data.rename(columns=TRACE_COLUMNS)
    if "input_tokens" not in frame.columns:
        raise ValueError(
            "reprice needs a request log (govern.logs.requests) or a trace with "
            "ContextTokens/GeneratedTokens (or input_tokens/output_tokens) columns"
        )
    table = frame.reindex(columns=list(TOKEN_FIELDS), fill_value=0).fillna(0).astype("int64")
    cached = (
        table["cache_read_tokens"] + table["cache_write_5m_tokens"] + table["cache_write_1h_tokens"]
    )
    bad = (
        (table < 0).any(axis=1)
        | (cached > table["input_tokens"])
        | (table["reasoning_tokens"] > table["output_tokens"])
    )
    if bad.any():
        raise ValueError(
            f"row {bad[bad].index[0]!r}: token counts must be >= 0, cache tokens within "
            "input_tokens and reasoning_tokens within output_tokens"
        )
    actual: IntArray | None = None
    if is_log:
        actual = np.asarray(data["cost_nanos"].astype("Int64").fillna(-1), dtype=np.int64)
    hits: BoolArray | None = None
    if "cache" in data.columns:
        hits = (data["cache"] != "miss").to_numpy(dtype=np.bool_)
    return table, actual, hits


def reprice(
    data: pd.DataFrame,
    models: Sequence[str] | None = None,
    prices: Mapping[str, PriceSpec] | None = None,
    *,
    baseline: str | None = None,
    catalog: Catalog | None = None,
    at: datetime | None = None,
) -> Repricing:
    """The cost of every row of a request log (`govern.logs.requests`) or a trace under
    each of `models` (`provider/model`) and `prices` (name -> rates), with savings versus
    the logged cost, or versus the `baseline` scenario (required for savings of a trace)."""
    import numpy as np

    if catalog is None:
        from govern.catalog import default_catalog

        catalog = default_catalog()
    if baseline is not None and baseline not in (models or ()) and baseline not in (prices or {}):
        models = [*(models or ()), baseline]
    chosen = scenarios(models, prices, catalog, at)
    table, actual, hits = token_table(data)
    tokens = {name: table[name].to_numpy(dtype=np.int64) for name in TOKEN_FIELDS}
    costs: dict[str, IntArray] = {}
    for name, (price, _) in chosen.items():
        try:
            nanos = row_nanos(tokens, price)
        except NoOutputPrice as exc:
            raise NoOutputPrice(f"{name}: {exc}") from None
        if hits is not None:
            nanos[hits] = 0  # the gateway's cache answered: no model was called
        costs[name] = nanos
    if baseline is not None:
        actual = costs[baseline]
    return _frames(table, actual, costs, chosen)


def _frames(
    table: pd.DataFrame,
    actual: IntArray | None,
    costs: Mapping[str, IntArray],
    chosen: Mapping[str, tuple[Price, str]],
) -> Repricing:
    import numpy as np
    import pandas as pd

    n = len(table)
    known = np.zeros(n, dtype=bool) if actual is None else actual >= 0
    logged = actual if actual is not None else np.zeros(n, dtype=np.int64)
    actual_col = pd.Series(logged, dtype="Int64").mask(~known)
    parts, totals = [], []
    for name, nanos in costs.items():
        parts.append(
            pd.DataFrame(
                {
                    "row": table.index,
                    "scenario": name,
                    "input_tokens": table["input_tokens"].to_numpy(),
                    "output_tokens": table["output_tokens"].to_numpy(),
                    "cost_nanos": nanos,
                    "actual_nanos": actual_col,
                    "savings_nanos": actual_col - pd.Series(nanos, dtype="Int64"),
                }
            )
        )
        compared = int(known.sum())
        actual_sum = int(actual[known].sum()) if actual is not None and compared else None
        saved = None if actual_sum is None else actual_sum - int(nanos[known].sum())
        totals.append(
            {
                "scenario": name,
                "source": chosen[name][1],
                "requests": n,
                "input_tokens": int(table["input_tokens"].sum()),
                "output_tokens": int(table["output_tokens"].sum()),
                "cost_nanos": int(nanos.sum()),
                "cost_usd": float(from_nanos(int(nanos.sum()))),
                "compared_requests": compared,
                "actual_nanos": actual_sum,
                "actual_usd": None if actual_sum is None else float(from_nanos(actual_sum)),
                "savings_nanos": saved,
                "savings_usd": None if saved is None else float(from_nanos(saved)),
                "savings_pct": None if saved is None or not actual_sum else saved / actual_sum,
            }
        )
    rows = pd.concat(parts, ignore_index=True)
    # Display columns: floats derived from the exact integers, never summed back.
    rows.insert(5, "cost_usd", rows["cost_nanos"] / 1e9)
    rows["savings_usd"] = rows["savings_nanos"].astype("Float64") / 1e9
    frame = pd.DataFrame(totals)
    for column in ("actual_nanos", "savings_nanos"):
        frame[column] = frame[column].astype("Int64")
    for column in ("actual_usd", "savings_usd", "savings_pct"):
        frame[column] = frame[column].astype("Float64")
    frame = frame.sort_values("cost_nanos", kind="stable").reset_index(drop=True)
    return Repricing(rows=rows, totals=frame)
