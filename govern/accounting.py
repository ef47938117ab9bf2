"""Pricing, the request log and metrics for each attempt: the bookkeeping of the path.

The pipeline opens an `Attempt` before each upstream call (pricing it first, so that an
unpriced model can be refused before any money is spent) and closes it with `succeeded`
or `failed`; requests refused before any attempt are recorded with `rejected`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from govern.catalog import Catalog, CostBreakdown, PriceResult, cost, to_nanos
from govern.errors import GovernError
from govern.logs.record import RequestRecord
from govern.logs.writer import LogWriter
from govern.metrics import Metrics
from govern.routing import Route
from govern.usage import Usage


@dataclass(slots=True)
class Attempt:
    """One upstream call being made."""

    request_id: str
    number: int
    route: Route
    kind: str
    key_name: str
    fallback_index: int
    model_requested: str
    stream: bool
    price: PriceResult | None
    ts: datetime
    started: float
    ttft: float | None = None

    def first_token(self) -> None:
        """Note the arrival of the first content chunk (once)."""
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.started


@dataclass(frozen=True, slots=True)
class Charge:
    """What a finished attempt cost: None fields when the model is unpriced."""

    breakdown: CostBreakdown | None
    price: PriceResult | None

    @property
    def total(self) -> Decimal | None:
        """The exact total in dollars, or None when unpriced."""
        return None if self.breakdown is None else self.breakdown.total

    @property
    def header(self) -> str | None:
        """`x-govern-cost-usd`: the exact total as a plain decimal, or None if unpriced."""
        total = self.total
        return None if total is None else format_usd(total)


def format_usd(amount: Decimal) -> str:
    """Dollars as a plain decimal string (never exponent notation)."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


class Accountant:
    """Prices attempts, records each in the request log and the metrics."""

    def __init__(self, catalog: Catalog, log: LogWriter | None, metrics: Metrics):
        self.catalog = catalog
        self.log = log
        self.metrics = metrics

    def open(
        self,
        *,
        request_id: str,
        number: int,
        route: Route,
        kind: str,
        key_name: str,
        fallback_index: int,
        model_requested: str,
        stream: bool,
    ) -> Attempt:
        """Price an attempt before it is made; raises ModelUnpriced if policy refuses it."""
        price = self.catalog.price_call(
            kind, route.provider, route.model, key=key_name, budgeted=False
        )
        return Attempt(
            request_id=request_id,
            number=number,
            route=route,
            kind=kind,
            key_name=key_name,
            fallback_index=fallback_index,
            model_requested=model_requested,
            stream=stream,
            price=price,
            ts=datetime.now(UTC),
            started=time.perf_counter(),
        )

    async def succeeded(
        self,
        attempt: Attempt,
        usage: Usage | None,
        *,
        status: int = 200,
        error_type: str | None = None,
    ) -> Charge:
        """Record a finished attempt (a stream cut by the client passes its status)."""
        usage = usage or Usage()
        breakdown = cost(usage, attempt.price) if attempt.price is not None else None
        charge = Charge(breakdown, attempt.price)
        labels = (attempt.route.provider, attempt.route.model)
        m = self.metrics
        m.requests.labels(*labels, str(status)).inc()
        m.tokens.labels(*labels, "input").inc(usage.input_tokens)
        m.tokens.labels(*labels, "output").inc(usage.output_tokens)
        if breakdown is not None:
            m.cost.labels(*labels).inc(float(breakdown.total))
        if attempt.price is None or attempt.price.unpriced:
            m.unpriced.labels(*labels).inc()
        latency = time.perf_counter() - attempt.started
        m.latency.labels(*labels).observe(latency)
        await self._write(attempt, latency, status, error_type, usage, charge)
        return charge

    async def failed(self, attempt: Attempt, error: GovernError) -> None:
        """Record an attempt that failed (it cost nothing: no tokens were billed)."""
        labels = (attempt.route.provider, attempt.route.model)
        self.metrics.errors.labels(*labels, error.type).inc()
        latency = time.perf_counter() - attempt.started
        await self._write(attempt, latency, error.status, error.type, Usage(), None)

    async def rejected(
        self,
        request_id: str,
        model: str,
        stream: bool,
        error: GovernError,
        route: Route | None = None,
    ) -> None:
        """Record a request refused before any upstream call."""
        provider = route.provider if route else ""
        self.metrics.errors.labels(provider, route.model if route else model, error.type).inc()
        self.metrics.requests.labels(
            provider, route.model if route else model, str(error.status)
        ).inc()
        if self.log is None:
            return
        await self.log.write(
            RequestRecord(
                request_id=request_id,
                attempt=0,
                ts=datetime.now(UTC),
                latency_ms=0.0,
                provider=route.provider if route else None,
                model_requested=model,
                stream=stream,
                status=error.status,
                error_type=error.type,
            )
        )

    async def _write(
        self,
        attempt: Attempt,
        latency: float,
        status: int,
        error_type: str | None,
        usage: Usage,
        charge: Charge | None,
    ) -> None:
        if self.log is None:
            return
        b = charge.breakdown if charge is not None else None
        price = attempt.price
        await self.log.write(
            RequestRecord(
                request_id=attempt.request_id,
                attempt=attempt.number,
                ts=attempt.ts,
                latency_ms=latency * 1000,
                ttft_ms=None if attempt.ttft is None else attempt.ttft * 1000,
                provider=attempt.route.provider,
                model_requested=attempt.model_requested,
                model_served=attempt.route.model,
                key_name=attempt.key_name,
                fallback_index=attempt.fallback_index,
                stream=attempt.stream,
                status=status,
                error_type=error_type,
                input_tokens=usage.input_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_5m_tokens=usage.cache_write_5m_tokens,
                cache_write_1h_tokens=usage.cache_write_1h_tokens,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                cost_input_nanos=None if b is None else to_nanos(b.input),
                cost_cache_read_nanos=None if b is None else to_nanos(b.cache_read),
                cost_cache_write_5m_nanos=None if b is None else to_nanos(b.cache_write_5m),
                cost_cache_write_1h_nanos=None if b is None else to_nanos(b.cache_write_1h),
                cost_output_nanos=None if b is None else to_nanos(b.output),
                cost_reasoning_nanos=None if b is None else to_nanos(b.reasoning),
                cost_nanos=None if b is None else b.nanos,
                unpriced=price is None or price.unpriced,
                price_source=None if price is None else _source(price),
            )
        )


def _source(price: PriceResult) -> str:
    if price.region is None:
        return price.source
    return f"{price.source} (region {price.region}: {price.region_basis} entry)"
