"""The catalog as pandas DataFrames: list and search models, compare costs across models.

Money columns are floats (for display and plotting); `total_nanos` is the exact total in
integer nano-dollars.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from govern.catalog.cost import (
    CostBreakdown,
    InvalidUsage,
    check_usage,
    cost,
    cost_at_rates,
    to_nanos,
)
from govern.catalog.overrides import override_price
from govern.catalog.prices import Price, PriceResult
from govern.usage import Usage

if TYPE_CHECKING:
    import pandas as pd

    from govern.catalog.catalog import Catalog

_RATES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")
_BUCKETS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")
TRACE_COLUMNS: dict[str, str] = {
    "ContextTokens": "input_tokens",
    "GeneratedTokens": "output_tokens",
}
"""Azure LLM trace columns and the `Usage` fields they fill."""


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _price_row(price: Price) -> dict[str, Any]:
    row = {f"{name}_per_mtok": _money(getattr(price, name)) for name in _RATES}
    row["long_context_above"] = (
        price.long_context[0].above_input_tokens if price.long_context else None
    )
    return row


def models(
    catalog: Catalog,
    query: str | None = None,
    provider: str | None = None,
    *,
    at: datetime | None = None,
) -> pd.DataFrame:
    """Priced models (and the config's unscoped overrides) with their rates per MTok,
    context window and provider; `query` matches `provider/model` or the name, any case."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for override in catalog.overrides:
        if override.key is not None or override.virtual_key is not None:
            continue
        result = (
            catalog.lookup(override.pricing_as, at=at)
            if override.pricing_as
            else PriceResult(price=override_price(override), source="override")
        )
        if result is None:
            continue
        rows.append(
            {
                "provider": override.provider or "",
                "model": override.model,
                "name": None,
                **_price_row(result.price),
                "context_window": result.context_window,
                "max_output_tokens": result.max_output_tokens,
                "deprecated": False,
                "source": f"alias:{override.pricing_as}" if override.pricing_as else "override",
            }
        )
    for entry in catalog.entries():
        rows.append(
            {
                "provider": entry.provider,
                "model": entry.id,
                "name": entry.name,
                **_price_row(entry.price(at)),
                "context_window": entry.context_window,
                "max_output_tokens": entry.max_output_tokens,
                "deprecated": entry.deprecated,
                "source": entry.source,
            }
        )
    frame = pd.DataFrame(rows)
    if provider is not None:
        frame = frame[frame["provider"] == _catalog_provider_name(provider)]
    if query:
        q = query.lower()
        refs = (frame["provider"] + "/" + frame["model"]).str.lower()
        names = frame["name"].fillna("").str.lower()
        frame = frame[refs.str.contains(q, regex=False) | names.str.contains(q, regex=False)]
    for column in ("long_context_above", "context_window", "max_output_tokens"):
        frame[column] = frame[column].astype("Int64")
    return frame.reset_index(drop=True)


def _catalog_provider_name(provider: str) -> str:
    return {"bedrock": "aws"}.get(provider, provider)


def compare(
    catalog: Catalog,
    usage_or_trace: Usage | pd.DataFrame,
    models: Sequence[str],
    *,
    at: datetime | None = None,
) -> pd.DataFrame:
    """The cost of one `Usage`, or of every row of a trace (`ContextTokens` and
    `GeneratedTokens` columns, or `Usage` field names), at each of `models`
    (`provider/model`), cheapest first. Each trace row gets its own long-context tier."""
    import pandas as pd

    trace = _trace_frame(usage_or_trace)
    unknown = [ref for ref in models if catalog.lookup(ref, at=at) is None]
    if unknown:
        raise LookupError(f"no price for {', '.join(unknown)}; see govern.catalog.models()")
    rows = []
    for ref in models:
        result = catalog.lookup(ref, at=at)
        assert result is not None
        if isinstance(trace, Usage):
            breakdown, requests, total_usage = cost(trace, result.price), 1, trace
        else:
            breakdown, requests, total_usage = _trace_cost(trace, result.price)
        rows.append(
            {
                "model": ref,
                "source": result.source,
                "requests": requests,
                **{name: getattr(total_usage, name) for name in Usage.__struct_fields__},
                **{f"{name}_usd": float(getattr(breakdown, name)) for name in _BUCKETS},
                "total_usd": float(breakdown.total),
                "total_nanos": to_nanos(breakdown.total),
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values("total_nanos", kind="stable")
    return frame.reset_index(drop=True)


def _trace_frame(usage_or_trace: Usage | pd.DataFrame) -> Usage | pd.DataFrame:
    """A usage as is; a trace as integer `Usage` columns (missing buckets are 0)."""
    if isinstance(usage_or_trace, Usage):
        return usage_or_trace
    frame = usage_or_trace.rename(columns=TRACE_COLUMNS)
    if "input_tokens" not in frame.columns:
        raise ValueError("a trace needs a ContextTokens (or input_tokens) column")
    out = frame.reindex(columns=list(Usage.__struct_fields__), fill_value=0)
    out = out.fillna(0).astype("int64")
    cached = out["cache_read_tokens"] + out["cache_write_5m_tokens"] + out["cache_write_1h_tokens"]
    bad = (
        (out < 0).any(axis=1)
        | (cached > out["input_tokens"])
        | (out["reasoning_tokens"] > out["output_tokens"])
    )
    if bad.any():
        row = out[bad].iloc[0]
        try:
            check_usage(Usage(**{str(k): int(v) for k, v in row.items()}))
        except InvalidUsage as exc:
            raise InvalidUsage(f"trace row {row.name}: {exc}") from None
    return out


def _trace_cost(trace: pd.DataFrame, price: Price) -> tuple[CostBreakdown, int, Usage]:
    """The exact cost of every row: rows are summed per long-context tier (costs are
    linear within a tier), then each sum is priced at its tier's rates."""
    import numpy

    thresholds = [tier.above_input_tokens for tier in price.long_context]
    # Number of thresholds strictly below each prompt = the tier it falls in (0 = base).
    tier_of_row = numpy.searchsorted(thresholds, trace["input_tokens"].to_numpy(), side="left")
    total = CostBreakdown.zero()
    usage = Usage()
    for tier in sorted(set(tier_of_row.tolist())):
        rows = trace[tier_of_row == tier]
        summed = Usage(**{name: int(rows[name].sum()) for name in Usage.__struct_fields__})
        rates = price if tier == 0 else price.long_context[tier - 1].rates
        total = _add(total, cost_at_rates(summed, rates))
        usage = usage + summed
    return total, len(trace), usage


def _add(a: CostBreakdown, b: CostBreakdown) -> CostBreakdown:
    return CostBreakdown(
        **{name: getattr(a, name) + getattr(b, name) for name in (*_BUCKETS, "total")}
    )
