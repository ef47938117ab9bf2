"""Our own price types: exact Decimal US dollars per million tokens (MTok).

They do not depend on genai-prices; `govern.catalog.genai` converts its data into them,
and config overrides build them directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Literal, Self

from msgspec import Struct

MTOK = 1_000_000
"""Tokens per price unit: every rate is dollars per million tokens."""


def _check_rate(name: str, value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name}: a price must be a finite number >= 0, got {value}")
    return value


class TokenRates(Struct, frozen=True, kw_only=True):
    """One full set of rates, US dollars per million tokens.

    Build it with `of()`, which fills in the defaults providers bill by: a missing
    cache-read or cache-write rate is the input rate, a missing 1-hour cache-write rate is
    the 5-minute one, a missing reasoning rate is the output rate.
    """

    input: Decimal
    """Uncached input tokens."""
    output: Decimal | None
    """Output tokens other than reasoning; None for input-only models (embeddings)."""
    cache_read: Decimal
    """Input tokens read from the provider's prompt cache."""
    cache_write_5m: Decimal
    """Input tokens written to the prompt cache with the default (5-minute) lifetime."""
    cache_write_1h: Decimal
    """Input tokens written to the prompt cache with a 1-hour lifetime."""
    reasoning: Decimal | None
    """Reasoning (thinking) tokens; None only when `output` is None."""

    @classmethod
    def of(
        cls,
        input: Decimal,
        output: Decimal | None,
        *,
        cache_read: Decimal | None = None,
        cache_write_5m: Decimal | None = None,
        cache_write_1h: Decimal | None = None,
        reasoning: Decimal | None = None,
    ) -> Self:
        """Rates with the billing defaults filled in; raises ValueError on a negative rate."""
        write_5m = input if cache_write_5m is None else cache_write_5m
        values = {
            "input": input,
            "output": output,
            "cache_read": input if cache_read is None else cache_read,
            "cache_write_5m": write_5m,
            "cache_write_1h": write_5m if cache_write_1h is None else cache_write_1h,
            "reasoning": output if reasoning is None else reasoning,
        }
        for name, value in values.items():
            if value is not None:
                _check_rate(name, value)
        if values["output"] is None and values["reasoning"] is not None:
            raise ValueError("reasoning: a reasoning price needs an output price")
        return cls(**values)  # type: ignore[arg-type]


class LongContextTier(Struct, frozen=True, kw_only=True):
    """Rates that replace the base rates for a whole request whose prompt is long."""

    above_input_tokens: int
    """Applies when the prompt's input tokens (cache reads and writes included) exceed this."""
    rates: TokenRates
    """The full set of rates for such a request."""


class Price(TokenRates, frozen=True, kw_only=True):
    """A model's price: base rates, plus long-context tiers chosen by the prompt's size.

    Like providers bill, a tier applies to every token of the request (input, cache and
    output alike), not only to the tokens above the threshold.
    """

    long_context: tuple[LongContextTier, ...] = ()
    """Tiers in ascending order of threshold; the highest exceeded one applies."""

    @classmethod
    def with_tiers(cls, base: TokenRates, tiers: tuple[LongContextTier, ...] = ()) -> Price:
        """The price with `base` rates and long-context `tiers`."""
        return cls(
            input=base.input,
            output=base.output,
            cache_read=base.cache_read,
            cache_write_5m=base.cache_write_5m,
            cache_write_1h=base.cache_write_1h,
            reasoning=base.reasoning,
            long_context=tiers,
        )

    def __post_init__(self) -> None:
        thresholds = [t.above_input_tokens for t in self.long_context]
        if thresholds != sorted(set(thresholds)) or any(t < 0 for t in thresholds):
            raise ValueError("long_context: thresholds must be >= 0, unique and ascending")

    def rates_for(self, input_tokens: int) -> TokenRates:
        """The rates billed for a request whose prompt has `input_tokens` tokens."""
        for tier in reversed(self.long_context):
            if input_tokens > tier.above_input_tokens:
                return tier.rates
        return self

    def tier_for(self, input_tokens: int) -> int | None:
        """The threshold of the long-context tier applied, or None for the base rates."""
        for tier in reversed(self.long_context):
            if input_tokens > tier.above_input_tokens:
                return tier.above_input_tokens
        return None


class DatedPrice(Struct, frozen=True, kw_only=True):
    """A price with the condition under which the provider charges it."""

    price: Price
    since: date | None = None
    """Charged from this UTC date on (a price change)."""
    daily: tuple[time, time] | None = None
    """Charged between these UTC times of day only (off-peak pricing); may wrap midnight."""

    def active(self, at: datetime) -> bool:
        """Whether this price applies to a request made at `at` (naive means UTC)."""
        utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        if self.since is not None and utc.date() < self.since:
            return False
        if self.daily is not None:
            start, end = self.daily
            now = utc.time()
            if end < start:
                return now >= start or now < end
            return start <= now < end
        return True


def price_at(prices: tuple[DatedPrice, ...], at: datetime) -> int:
    """Index of the price in force at `at`: the last active one, else the first."""
    for i in range(len(prices) - 1, -1, -1):
        if prices[i].active(at):
            return i
    return 0


class CatalogModel(Struct, frozen=True, kw_only=True):
    """One model of the catalog, with its price schedule and limits."""

    provider: str
    """The catalog's provider id (`openai`, `anthropic`, `aws`, `google`...)."""
    id: str
    """The catalog's model id."""
    name: str | None = None
    """Display name, when the data has one."""
    prices: tuple[DatedPrice, ...]
    """The prices over time; usually one."""
    context_window: int | None = None
    """Maximum input tokens, when the data has it."""
    max_output_tokens: int | None = None
    """Maximum output tokens, when the data has it (genai-prices does not publish it)."""
    deprecated: bool = False
    """The provider deprecated the model (it still works)."""

    @property
    def ref(self) -> str:
        """`provider/id`."""
        return f"{self.provider}/{self.id}"

    @property
    def source(self) -> str:
        """The entry's id in price sources: `genai-prices:provider/id`."""
        return f"genai-prices:{self.ref}"

    def price(self, at: datetime | None = None) -> Price:
        """The price in force at `at` (default: now)."""
        if len(self.prices) == 1:
            return self.prices[0].price
        return self.prices[price_at(self.prices, at or datetime.now(UTC))].price


RegionBasis = Literal["region", "base"]


class PriceResult(Struct, frozen=True, kw_only=True):
    """The price of one model for one call, and where it came from."""

    price: Price
    """The rates to bill."""
    source: str
    """`genai-prices:<provider>/<id>` (a catalog entry), `override:<selector>` (a config
    override), `alias:<provider>/<model>` (an override's `pricing_as`), or
    `unpriced:default` (the unpriced policy's default price)."""
    entry: str | None = None
    """The catalog entry priced (`genai-prices:...`), for catalog prices and aliases."""
    region: str | None = None
    """Bedrock: the model id's region or inference-profile prefix (`us`, `eu`, `global`)."""
    region_basis: RegionBasis | None = None
    """Bedrock, prefixed ids only: `region` when the catalog's entry for that region (or
    inference-profile scope) priced the call, `base` when the base model's entry did."""
    context_window: int | None = None
    """Maximum input tokens, when known."""
    max_output_tokens: int | None = None
    """Maximum output tokens, when known."""
    unpriced: bool = False
    """The model has no price: this is the unpriced policy's default charge."""
