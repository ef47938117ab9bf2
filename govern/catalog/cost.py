"""The exact cost of a `Usage` at a price, and integer nano-dollars for ledgers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from msgspec import Struct

from govern.catalog.prices import Price, PriceResult, TokenRates
from govern.usage import Usage

NANOS_PER_DOLLAR = 1_000_000_000
_ZERO = Decimal(0)
_ONE = Decimal(1)
# Token counts times prices stay far below 60 digits, so no product is ever rounded.
_EXACT = Context(prec=60)


class InvalidUsage(ValueError):
    """A usage whose buckets do not add up (it would give a negative or double cost)."""


class NoOutputPrice(ValueError):
    """Output tokens at a price that has none (an input-only model such as an embedding)."""


class CostBreakdown(Struct, frozen=True, kw_only=True):
    """What one call cost, in US dollars, bucket by bucket; no token is counted twice."""

    input: Decimal
    """Uncached input tokens."""
    cache_read: Decimal
    """Cache-read input tokens."""
    cache_write_5m: Decimal
    """Input tokens written to the cache with the 5-minute lifetime."""
    cache_write_1h: Decimal
    """Input tokens written to the cache with the 1-hour lifetime."""
    output: Decimal
    """Output tokens other than reasoning tokens."""
    reasoning: Decimal
    """Reasoning tokens."""
    total: Decimal
    """The sum of the buckets."""
    long_context_above: int | None = None
    """The threshold of the long-context tier billed, or None for the base rates."""

    @property
    def nanos(self) -> int:
        """The total in integer nano-dollars (see `to_nanos`)."""
        return to_nanos(self.total)

    @classmethod
    def zero(cls) -> CostBreakdown:
        """A call that cost nothing (a cache hit)."""
        return cls(
            input=_ZERO,
            cache_read=_ZERO,
            cache_write_5m=_ZERO,
            cache_write_1h=_ZERO,
            output=_ZERO,
            reasoning=_ZERO,
            total=_ZERO,
        )


def check_usage(usage: Usage) -> None:
    """Raise InvalidUsage unless every bucket is >= 0 and the nested buckets fit."""
    for name in Usage.__struct_fields__:
        if getattr(usage, name) < 0:
            raise InvalidUsage(f"{name} is negative ({getattr(usage, name)})")
    if usage.uncached_input_tokens < 0:
        raise InvalidUsage(
            f"cache tokens ({usage.cache_read_tokens} read + {usage.cache_write_tokens} written) "
            f"exceed input_tokens ({usage.input_tokens}), which must include them"
        )
    if usage.reasoning_tokens > usage.output_tokens:
        raise InvalidUsage(
            f"reasoning_tokens ({usage.reasoning_tokens}) exceed output_tokens "
            f"({usage.output_tokens}), which must include them"
        )


def cost(usage: Usage, price: Price | PriceResult) -> CostBreakdown:
    """The cost of `usage` at `price`; the long-context tier follows `usage.input_tokens`."""
    if isinstance(price, PriceResult):
        price = price.price
    check_usage(usage)
    breakdown = cost_at_rates(usage, price.rates_for(usage.input_tokens))
    tier = price.tier_for(usage.input_tokens)
    if tier is None:
        return breakdown
    return CostBreakdown(
        input=breakdown.input,
        cache_read=breakdown.cache_read,
        cache_write_5m=breakdown.cache_write_5m,
        cache_write_1h=breakdown.cache_write_1h,
        output=breakdown.output,
        reasoning=breakdown.reasoning,
        total=breakdown.total,
        long_context_above=tier,
    )


def cost_at_rates(usage: Usage, rates: TokenRates) -> CostBreakdown:
    """The cost of `usage` at exactly these rates (no tier choice: for summed usages)."""
    check_usage(usage)
    output_tokens = usage.output_tokens - usage.reasoning_tokens
    if rates.output is None or rates.reasoning is None:
        if usage.output_tokens:
            raise NoOutputPrice(f"{usage.output_tokens} output tokens at a price without output")
        output_rate = reasoning_rate = _ZERO
    else:
        output_rate, reasoning_rate = rates.output, rates.reasoning
    with localcontext(_EXACT):
        parts = (
            _dollars(usage.uncached_input_tokens, rates.input),
            _dollars(usage.cache_read_tokens, rates.cache_read),
            _dollars(usage.cache_write_5m_tokens, rates.cache_write_5m),
            _dollars(usage.cache_write_1h_tokens, rates.cache_write_1h),
            _dollars(output_tokens, output_rate),
            _dollars(usage.reasoning_tokens, reasoning_rate),
        )
        total = sum(parts, _ZERO)
    return CostBreakdown(
        input=parts[0],
        cache_read=parts[1],
        cache_write_5m=parts[2],
        cache_write_1h=parts[3],
        output=parts[4],
        reasoning=parts[5],
        total=total,
    )


def _dollars(tokens: int, per_mtok: Decimal) -> Decimal:
    if not tokens:
        return _ZERO
    # scaleb shifts the exponent: dividing by a million is exact.
    return (Decimal(tokens) * per_mtok).scaleb(-6)


def to_nanos(amount: Decimal) -> int:
    """Dollars to integer nano-dollars, rounding half up (a tie goes away from zero).

    Half up rather than banker's rounding so that a ledger never undercharges a call
    that costs exactly half a nano-dollar more than a whole number.
    """
    with localcontext(_EXACT):
        return int(amount.scaleb(9).quantize(_ONE, rounding=ROUND_HALF_UP))


def from_nanos(nanos: int) -> Decimal:
    """Integer nano-dollars back to exact dollars."""
    with localcontext(_EXACT):
        return Decimal(nanos).scaleb(-9)
