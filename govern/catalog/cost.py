"""The exact cost of a `Usage` at a price, and integer nano-dollars for ledgers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

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
    u = usage
    if (
        min(
            u.input_tokens,
            u.cache_read_tokens,
            u.cache_write_5m_tokens,
            u.cache_write_1h_tokens,
            u.output_tokens,
            u.reasoning_tokens,
        )
        < 0
    ):
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


class NanoCost(Struct, frozen=True, kw_only=True):
    """What one call cost in integer nano-dollars, for ledgers and the request log.

    Each bucket is its exact amount rounded half up; `total` is the exact total rounded
    (not the sum of the rounded buckets), and `exact` the total in exact dollars.
    """

    input: int
    cache_read: int
    cache_write_5m: int
    cache_write_1h: int
    output: int
    reasoning: int
    total: int
    exact: Decimal


def cost(usage: Usage, price: Price | PriceResult) -> CostBreakdown:
    """The cost of `usage` at `price`; the long-context tier follows `usage.input_tokens`."""
    if isinstance(price, PriceResult):
        price = price.price
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
    parts = (
        _dollars(usage.uncached_input_tokens, rates.input),
        _dollars(usage.cache_read_tokens, rates.cache_read),
        _dollars(usage.cache_write_5m_tokens, rates.cache_write_5m),
        _dollars(usage.cache_write_1h_tokens, rates.cache_write_1h),
        _dollars(output_tokens, output_rate),
        _dollars(usage.reasoning_tokens, reasoning_rate),
    )
    total = _ZERO
    for part in parts:
        total = _EXACT.add(total, part)
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
    return _EXACT.scaleb(_EXACT.multiply(Decimal(tokens), per_mtok), -6)


def nano_cost(usage: Usage, price: Price | PriceResult) -> NanoCost:
    """The cost of `usage` at `price` in integer nano-dollars: what `cost` gives, rounded
    half up as `to_nanos` rounds, computed in integers (the request path's pricing)."""
    if isinstance(price, PriceResult):
        price = price.price
    scale, amounts = _scaled_amounts(usage, price.rates_for(usage.input_tokens))
    unit = 10**scale
    n = [_round_half_up(a, unit) for a in amounts]
    total = sum(amounts)
    return NanoCost(
        input=n[0],
        cache_read=n[1],
        cache_write_5m=n[2],
        cache_write_1h=n[3],
        output=n[4],
        reasoning=n[5],
        total=_round_half_up(total, unit),
        exact=_EXACT.scaleb(Decimal(total), -(scale + 9)) if total else _ZERO,
    )


_Scaled = tuple[TokenRates, int, tuple[int, int, int, int, int | None, int | None]]
_SCALED: dict[int, _Scaled] = {}


def _scaled_rates(rates: TokenRates) -> _Scaled:
    """The rates as integers: nano-dollars per token times 10**scale, one scale for all.

    Cached by identity (the entry holds the rates, so the id is not reused while cached):
    catalog prices are built once, so each is converted once.
    """
    entry = _SCALED.get(id(rates))
    if entry is not None and entry[0] is rates:
        return entry
    # dollars per million tokens x 1000 = nano-dollars per token
    per_token = [
        None if r is None else _EXACT.scaleb(r, 3)
        for r in (
            rates.input,
            rates.cache_read,
            rates.cache_write_5m,
            rates.cache_write_1h,
            rates.output,
            rates.reasoning,
        )
    ]
    scale = max(0, *(-int(r.as_tuple().exponent) for r in per_token if r is not None))
    i = [0 if r is None else int(_EXACT.scaleb(r, scale)) for r in per_token]
    out = None if rates.output is None else i[4]
    reason = None if rates.reasoning is None else i[5]
    scaled: _Scaled = (rates, scale, (i[0], i[1], i[2], i[3], out, reason))
    if len(_SCALED) > 10_000:
        _SCALED.clear()
    _SCALED[id(rates)] = scaled
    return scaled


def _scaled_amounts(usage: Usage, rates: TokenRates) -> tuple[int, list[int]]:
    """The exact cost of each bucket in units of 10**-scale nano-dollars, and the scale."""
    check_usage(usage)
    _, scale, (r_in, r_read, r_5m, r_1h, r_out, r_reason) = _scaled_rates(rates)
    output = usage.output_tokens - usage.reasoning_tokens
    if r_out is None or r_reason is None:
        if usage.output_tokens:
            raise NoOutputPrice(f"{usage.output_tokens} output tokens at a price without output")
        r_out = r_reason = 0
    return scale, [
        usage.uncached_input_tokens * r_in,
        usage.cache_read_tokens * r_read,
        usage.cache_write_5m_tokens * r_5m,
        usage.cache_write_1h_tokens * r_1h,
        output * r_out,
        usage.reasoning_tokens * r_reason,
    ]


def _round_half_up(amount: int, unit: int) -> int:
    """amount / unit rounded to an integer, a tie away from zero (ROUND_HALF_UP)."""
    if amount >= 0:
        return (2 * amount + unit) // (2 * unit)
    return -((-2 * amount + unit) // (2 * unit))


def to_nanos(amount: Decimal) -> int:
    """Dollars to integer nano-dollars, rounding half up (a tie goes away from zero).

    Half up rather than banker's rounding so that a ledger never undercharges a call
    that costs exactly half a nano-dollar more than a whole number.
    """
    return int(_EXACT.scaleb(amount, 9).quantize(_ONE, rounding=ROUND_HALF_UP, context=_EXACT))


def from_nanos(nanos: int) -> Decimal:
    """Integer nano-dollars back to exact dollars."""
    return _EXACT.scaleb(Decimal(nanos), -9)
