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
from govern.catalog.prices import Price
from govern.catalog.regions import listed_providers
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
    """Priced models, one row per `provider/model` name that `lookup()` and `compare()`
    accept, with the rates, context window and source that `lookup()` gives that name.

    Naming: `provider` is the gateway's provider name (`bedrock` for genai-prices' `aws`;
    other catalog providers keep their id: `openai`, `fireworks`, `x-ai`...) and `model` is
    the name a call uses, which is not always the catalog's id: Bedrock `regional.*`
    entries are listed under their `us.` inference-profile id, Fireworks models under
    `accounts/fireworks/models/...`, an entry matched only by a prefix under that prefix.
    `entry` is the genai-prices entry priced (`genai-prices:aws/regional...`). The
    config's unscoped overrides come first, under their provider (`*` when they name
    none: they price the model at any provider without a more specific price). A name an
    override also prices shows the override's price, as a call would be billed.
    `provider` filters by gateway name, catalog id or alias (`bedrock` or `aws`);
    `query` matches `provider/model`, the entry or the display name, any case."""
    import pandas as pd

    named: list[tuple[str, str, str | None, bool]] = []
    for override in catalog.overrides:
        if override.key is None and override.virtual_key is None:
            named.append((*_override_name(override.provider, override.model), None, False))
    for ref, entry in catalog.listed().items():
        listed_provider, _, model = ref.partition("/")
        named.append((listed_provider, model, entry.name, entry.deprecated))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for listed_provider, model, name, deprecated in named:
        ref = f"{listed_provider}/{model}"
        result = None if ref in seen else catalog.lookup(ref, at=at)
        if result is None:
            continue
        seen.add(ref)
        rows.append(
            {
                "provider": listed_provider,
                "model": model,
                "name": name,
                **_price_row(result.price),
                "context_window": result.context_window,
                "max_output_tokens": result.max_output_tokens,
                "deprecated": deprecated,
                "source": result.source,
                "entry": result.entry,
            }
        )
    frame = pd.DataFrame(rows)
    if provider is not None:
        frame = frame[frame["provider"].isin(listed_providers(provider))]
    if query:
        q = query.lower()
        refs = (frame["provider"] + "/" + frame["model"]).str.lower()
        names = frame["name"].fillna("").str.lower()
        entries = frame["entry"].fillna("").str.lower()
        frame = frame[
            refs.str.contains(q, regex=False)
            | names.str.contains(q, regex=False)
            | entries.str.contains(q, regex=False)
        ]
    for column in ("long_context_above", "context_window", "max_output_tokens"):
        frame[column] = frame[column].astype("Int64")
    return frame.reset_index(drop=True)


def _override_name(provider: str | None, model: str) -> tuple[str, str]:
    """The `(provider, model)` that `lookup()` finds an unscoped override by."""
    if provider is None:
        implied, slash, rest = model.partition("/")
        return (implied, rest) if slash else ("*", model)
    return provider, model.removeprefix(f"{provider}/")


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
