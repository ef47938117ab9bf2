"""Exact costs of many rows at once: integer nano-dollars per row, vectorised with numpy.

Each row is priced as `govern.catalog.cost` prices one call and `to_nanos` rounds it
(half up, once, on the row's exact total), so a row's result equals what the gateway
logs for that call to the nano-dollar. Rates become integers over a common power of
ten, so no float ever touches the money.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from govern.catalog.cost import NoOutputPrice
from govern.catalog.prices import Price, TokenRates

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]

TOKEN_FIELDS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)
"""The `Usage` buckets a token table holds, as integer arrays."""

_NANOS_PER_MTOK_DOLLAR = 1000  # $1 per million tokens is 1000 nano-dollars per token
_INT64_SAFE = 2**62


def _scaled(rates: TokenRates) -> tuple[list[int], int]:
    """The rates in nano-dollars per token as integers over one denominator 10**k."""
    values = [
        rate * _NANOS_PER_MTOK_DOLLAR
        for rate in (
            rates.input,
            rates.cache_read,
            rates.cache_write_5m,
            rates.cache_write_1h,
            rates.output or Decimal(0),
            rates.reasoning or Decimal(0),
        )
    ]
    exponents = [int(v.normalize().as_tuple().exponent) for v in values if v]
    k = max(0, -min(exponents, default=0))
    return [int(v.scaleb(k)) for v in values], 10**k


def _bucket_arrays(tokens: Mapping[str, IntArray]) -> list[IntArray]:
    cached = (
        tokens["cache_read_tokens"]
        + tokens["cache_write_5m_tokens"]
        + tokens["cache_write_1h_tokens"]
    )
    return [
        tokens["input_tokens"] - cached,
        tokens["cache_read_tokens"],
        tokens["cache_write_5m_tokens"],
        tokens["cache_write_1h_tokens"],
        tokens["output_tokens"] - tokens["reasoning_tokens"],
        tokens["reasoning_tokens"],
    ]


def _nanos_at(buckets: list[IntArray], rates: TokenRates) -> IntArray:
    import numpy as np

    if rates.output is None and bool((buckets[4] + buckets[5]).any()):
        raise NoOutputPrice("output tokens at a price without output (an input-only model)")
    numerators, denominator = _scaled(rates)
    bound = 2 * sum(int(b.max(initial=0)) * n for b, n in zip(buckets, numerators, strict=True))
    exact = bound + denominator < _INT64_SAFE
    total: IntArray = np.zeros(len(buckets[0]), dtype=np.int64 if exact else object)
    for bucket, numerator in zip(buckets, numerators, strict=True):
        if numerator:
            total = total + (bucket if exact else bucket.astype(object)) * numerator
    # Half up on the exact row total, as `to_nanos` rounds it.
    return (2 * total + denominator) // (2 * denominator)


def row_nanos(tokens: Mapping[str, IntArray], price: Price) -> IntArray:
    """Each row's cost at `price` in integer nano-dollars (a row's prompt size picks its
    long-context tier); raises NoOutputPrice for output tokens at an input-only price."""
    import numpy as np

    buckets = _bucket_arrays(tokens)
    if not price.long_context:
        return _nanos_at(buckets, price).astype(np.int64)
    thresholds = [tier.above_input_tokens for tier in price.long_context]
    # How many thresholds lie strictly below a prompt = its tier (0: the base rates).
    tier_of_row = np.searchsorted(thresholds, tokens["input_tokens"], side="left")
    out = np.zeros(len(buckets[0]), dtype=np.int64)
    for tier in np.unique(tier_of_row).tolist():
        mask = tier_of_row == tier
        rates = price if tier == 0 else price.long_context[tier - 1].rates
        out[mask] = _nanos_at([b[mask] for b in buckets], rates).astype(np.int64)
    return out
