"""One row of the request log, and exact money conversions for it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from msgspec import Struct

from govern.usage import Usage

CacheResult = Literal["miss", "exact", "semantic"]

NANOS_PER_USD = 1_000_000_000


class RequestRecord(Struct, kw_only=True):
    """One request attempt that reached a provider, or one request that was rejected.

    Money is integer nano-dollars (1e-9 USD), never a float: a cost field is null when
    the call could not be priced (`unpriced` is then true), never a silent 0.
    """

    request_id: str
    """The gateway's request id (`x-govern-request-id`); shared by a request's attempts."""
    attempt: int = 1
    """1 for the first upstream call of the request, counting retries and fallbacks;
    0 for a request rejected before any upstream call."""
    ts: datetime
    """When the attempt started, UTC (a naive datetime is taken as UTC)."""
    latency_ms: float
    """Milliseconds from the attempt's start to its last byte (or its error)."""
    ttft_ms: float | None = None
    """Streams: milliseconds to the first content chunk; null for non-streaming calls."""
    customer_id: str | None = None
    """The caller's customer (governance); null when ungoverned."""
    team_id: str | None = None
    """The caller's team (governance); null when ungoverned."""
    virtual_key_id: str | None = None
    """The caller's virtual key id (never the secret); null when ungoverned."""
    provider: str | None = None
    """The provider's name in the config; null when rejected before routing."""
    model_requested: str = ""
    """The model as the client asked for it."""
    model_served: str | None = None
    """The model the upstream call used, as the provider names it."""
    key_name: str | None = None
    """The provider key's name (never the secret)."""
    fallback_index: int = 0
    """0 for the requested model, n for the request's n-th fallback."""
    stream: bool = False
    """Whether the client asked for a stream."""
    status: int = 200
    """The HTTP status of the attempt (the gateway's, as the client would see it)."""
    error_type: str | None = None
    """The OpenAI-style error type of a failed attempt (`rate_limited`, ...); null on success."""
    input_tokens: int = 0
    """Input tokens, cache reads and writes included (see `govern.usage.Usage`)."""
    cache_read_tokens: int = 0
    """Input tokens read from the provider's prompt cache."""
    cache_write_5m_tokens: int = 0
    """Input tokens written to the prompt cache with a 5-minute lifetime."""
    cache_write_1h_tokens: int = 0
    """Input tokens written to the prompt cache with a 1-hour lifetime."""
    output_tokens: int = 0
    """Output tokens, reasoning included."""
    reasoning_tokens: int = 0
    """Reasoning tokens (already part of `output_tokens`)."""
    cost_input_nanos: int | None = None
    """Cost of uncached input tokens."""
    cost_cache_read_nanos: int | None = None
    """Cost of cache-read tokens."""
    cost_cache_write_5m_nanos: int | None = None
    """Cost of 5-minute cache writes."""
    cost_cache_write_1h_nanos: int | None = None
    """Cost of 1-hour cache writes."""
    cost_output_nanos: int | None = None
    """Cost of output tokens (how reasoning is split out follows the catalog's breakdown)."""
    cost_reasoning_nanos: int | None = None
    """Cost of reasoning tokens."""
    cost_nanos: int | None = None
    """Total cost of the attempt; null when unpriced."""
    unpriced: bool = False
    """The model had no price: the cost fields are null."""
    price_source: str | None = None
    """Where the price came from (catalog entry, override, default charge)."""
    cache: CacheResult = "miss"
    """The gateway cache's answer: `miss`, `exact` or `semantic`."""
    saved_nanos: int | None = None
    """Cache hits: what the call would have cost upstream."""
    prompt: str | None = None
    """The prompt text, only with `log.log_content: true`."""
    completion: str | None = None
    """The completion text, only with `log.log_content: true`."""
    provider_config: str | None = None
    """The caller's virtual-key provider config that served the attempt (governance)."""

    @property
    def usage(self) -> Usage:
        """The attempt's token usage."""
        return Usage(
            input_tokens=self.input_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_5m_tokens=self.cache_write_5m_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens,
        )

    @property
    def cost_usd(self) -> Decimal | None:
        """The total cost in dollars, exactly; None when unpriced."""
        return None if self.cost_nanos is None else nanos_to_usd(self.cost_nanos)


class LoggedRequest(RequestRecord, kw_only=True):
    """A stored row: the record plus the id the store gave it (increasing per store)."""

    id: int
    """The row's id in the store."""


COLUMNS: tuple[str, ...] = RequestRecord.__struct_fields__
"""The record's fields, in storage order (the table also has an `id` column first)."""

INT_COLUMNS = frozenset(
    (
        "attempt",
        "fallback_index",
        "status",
        "input_tokens",
        "cache_read_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "reasoning_tokens",
    )
)
NULLABLE_INT_COLUMNS = frozenset(c for c in COLUMNS if c.endswith("_nanos"))
BOOL_COLUMNS = frozenset(("stream", "unpriced"))
FLOAT_COLUMNS = frozenset(("latency_ms", "ttft_ms"))


def usd_to_nanos(usd: Decimal) -> int:
    """Dollars to integer nano-dollars, rounding half to even below a nano-dollar."""
    return int((usd * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def nanos_to_usd(nanos: int) -> Decimal:
    """Integer nano-dollars to exact dollars."""
    return Decimal(nanos).scaleb(-9)


def utc(ts: datetime) -> datetime:
    """`ts` as an aware UTC datetime (a naive one is taken as UTC)."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)
