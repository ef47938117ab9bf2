"""The bookkeeping of each upstream attempt: price it, reserve it, settle it, record it.

`begin` prices an attempt and, for a governed caller, reserves its worst case on every
tier before any money is spent; `succeeded` settles the reservation to the real cost and
writes the log row and metrics; `failed` releases it. Requests refused before any attempt
are recorded with `rejected`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from govern.catalog import Catalog, NanoCost, PriceResult, nano_cost
from govern.errors import GovernError
from govern.governance.ledger import Denied
from govern.logs.record import RequestRecord
from govern.logs.writer import LogWriter
from govern.metrics import Metrics
from govern.routing import Route
from govern.usage import Usage

if TYPE_CHECKING:
    from govern.governance.estimate import TokenEstimate
    from govern.governance.gate import Admission, Gate
    from govern.governance.model import ProviderGrant
    from govern.governance.principal import Principal

Estimator = Callable[["PriceResult | None"], "TokenEstimate"]
"""Worst-case tokens of the request at a price (the price gives the context window)."""


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
    principal: Principal | None = None
    grant: ProviderGrant | None = None
    admission: Admission | None = None
    estimate: TokenEstimate | None = None
    ttft: float | None = None
    ended: float | None = None
    """When the answer was complete (set by `Accountant.charge`)."""

    @property
    def route_labels(self) -> tuple[str, str]:
        """The metrics labels of the call: provider and upstream model."""
        return (self.route.provider, self.route.model)

    def first_token(self) -> None:
        """Note the arrival of the first content chunk (once)."""
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.started


@dataclass(frozen=True, slots=True)
class Charge:
    """What a finished attempt cost: None fields when the model is unpriced."""

    cost: NanoCost | None
    price: PriceResult | None

    @property
    def total(self) -> Decimal | None:
        """The exact total in dollars, or None when unpriced."""
        return None if self.cost is None else self.cost.exact

    @property
    def nanos(self) -> int:
        """The total in nano-dollars (0 when unpriced: nothing to charge a budget)."""
        return 0 if self.cost is None else self.cost.total

    @property
    def header(self) -> str | None:
        """`x-govern-cost-usd`: the exact total as a plain decimal, or None if unpriced."""
        total = self.total
        return None if total is None else format_usd(total)


_FREE = NanoCost(
    input=0,
    cache_read=0,
    cache_write_5m=0,
    cache_write_1h=0,
    output=0,
    reasoning=0,
    total=0,
    exact=Decimal(0),
)


def format_usd(amount: Decimal) -> str:
    """Dollars as a plain decimal string (never exponent notation)."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


class Accountant:
    """Prices attempts, holds their reservations, records each in the log and metrics."""

    def __init__(
        self, catalog: Catalog, log: LogWriter | None, metrics: Metrics, gate: Gate | None = None
    ):
        self.catalog = catalog
        self.log = log
        self.metrics = metrics
        self.gate = gate

    @property
    def strict(self) -> bool:
        """Whether each log row must be committed before its answer leaves."""
        return self.log is not None and self.log.durability == "strict"

    async def begin(
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
        principal: Principal | None,
        grant: ProviderGrant | None,
        estimator: Estimator,
    ) -> Attempt | Denied:
        """Price an attempt and reserve its worst case on every tier of the caller.

        Raises ModelUnpriced (403) if the unpriced policy refuses the model, and 402/429
        if a customer, team or key limit refuses; returns the `Denied` of a provider
        config's limit so the caller can try another provider.
        """
        budgeted = principal is not None and any(c.kind == "usd" for c in principal.caps(grant))
        price = self.catalog.price_call(
            kind,
            route.provider,
            route.model,
            key=key_name,
            budgeted=budgeted,
            virtual_key=principal.key.id if principal is not None else None,
        )
        attempt = Attempt(
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
            principal=principal,
            grant=grant,
        )
        if principal is None or self.gate is None:
            return attempt
        estimate = attempt.estimate = estimator(price)
        worst = 0 if price is None else self._worst_case(estimate, price)
        reservation = f"{request_id}:{number}"
        admitted = await self.gate.reserve(reservation, principal, grant, estimate, worst)
        if isinstance(admitted, Denied):
            return admitted  # a provider config's limit: the caller tries another provider
        attempt.admission = admitted  # None: the ledger is down and fail_open lets it pass
        attempt.started = time.perf_counter()
        return attempt

    @staticmethod
    def _worst_case(estimate: TokenEstimate, price: PriceResult) -> int:
        from govern.governance.estimate import estimate_cost_nanos

        return estimate_cost_nanos(estimate, price)

    async def succeeded(
        self,
        attempt: Attempt,
        usage: Usage | None,
        *,
        status: int = 200,
        error_type: str | None = None,
    ) -> Charge:
        """Settle and record a finished attempt (a stream cut short passes its status)."""
        usage = usage or Usage()
        charge = self.charge(attempt, usage)
        await self.record(attempt, usage, charge, status=status, error_type=error_type)
        return charge

    def charge(self, attempt: Attempt, usage: Usage) -> Charge:
        """What a finished attempt cost (nothing is settled or recorded yet: `record`)."""
        attempt.ended = time.perf_counter()
        priced = nano_cost(usage, attempt.price) if attempt.price is not None else None
        return Charge(priced, attempt.price)

    async def record(
        self,
        attempt: Attempt,
        usage: Usage,
        charge: Charge,
        *,
        status: int = 200,
        error_type: str | None = None,
    ) -> None:
        """Write a finished attempt's metrics and log row; settle its reservation to its
        charge (last: with a remote ledger it waits, and a reservation is never less)."""
        series = self.metrics.served(attempt.route.provider, attempt.route.model)
        if status == 200:
            series.requests.inc()
        else:
            self.metrics.requests.labels(*attempt.route_labels, str(status)).inc()
        series.input_tokens.inc(usage.input_tokens)
        series.output_tokens.inc(usage.output_tokens)
        if charge.cost is not None:
            series.cost.inc(charge.cost.total / 1e9)
        if attempt.price is None or attempt.price.unpriced:
            series.unpriced.inc()
        latency = (attempt.ended or time.perf_counter()) - attempt.started
        series.latency.observe(latency)
        try:
            await self._write(attempt, latency, status, error_type, usage, charge)
        finally:  # a row that cannot be written (or a cancelled wait) still settles
            if attempt.admission is not None and self.gate is not None:
                await self.gate.settle(attempt.admission, usage, charge.nanos)

    async def failed(self, attempt: Attempt, error: GovernError) -> None:
        """Release and record an attempt that failed before any token was billed."""
        if attempt.admission is not None and self.gate is not None:
            await self.gate.release(attempt.admission)
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
        principal: Principal | None = None,
    ) -> None:
        """Record a request refused before any upstream call (it consumed no quota)."""
        provider = route.provider if route else ""
        served = route.model if route else ""  # an unknown name must not become a label
        self.metrics.errors.labels(provider, served, error.type).inc()
        self.metrics.requests.labels(provider, served, str(error.status)).inc()
        if self.log is None:
            return
        await self.log.write(
            RequestRecord(
                request_id=request_id,
                attempt=0,
                ts=datetime.now(UTC),
                latency_ms=0.0,
                customer_id=principal.customer_id if principal else None,
                team_id=principal.team_id if principal else None,
                virtual_key_id=principal.key.id if principal else None,
                provider=route.provider if route else None,
                model_requested=model,
                stream=stream,
                status=error.status,
                error_type=error.type,
            )
        )

    async def cached(
        self,
        *,
        request_id: str,
        route: Route,
        model_requested: str,
        stream: bool,
        principal: Principal | None,
        layer: str,
        saved_nanos: int | None,
    ) -> Charge:
        """Record a request answered from the cache: it cost nothing upstream."""
        labels = (route.provider, route.model)
        m = self.metrics
        m.requests.labels(*labels, "200").inc()
        m.cache_hits.labels(*labels, layer).inc()
        if saved_nanos:
            m.cache_saved.labels(*labels).inc(saved_nanos / 1e9)
        if self.log is not None:
            await self.log.write(
                RequestRecord(
                    request_id=request_id,
                    attempt=0,
                    ts=datetime.now(UTC),
                    latency_ms=0.0,
                    customer_id=principal.customer_id if principal else None,
                    team_id=principal.team_id if principal else None,
                    virtual_key_id=principal.key.id if principal else None,
                    provider=route.provider,
                    model_requested=model_requested,
                    model_served=route.model,
                    stream=stream,
                    cost_nanos=0,
                    price_source="cache",
                    cache=layer,  # type: ignore[arg-type]
                    saved_nanos=saved_nanos,
                )
            )
        return Charge(_FREE, None)

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
        c = charge.cost if charge is not None else None
        price = attempt.price
        principal = attempt.principal
        await self.log.write(
            RequestRecord(
                request_id=attempt.request_id,
                attempt=attempt.number,
                ts=attempt.ts,
                latency_ms=latency * 1000,
                ttft_ms=None if attempt.ttft is None else attempt.ttft * 1000,
                customer_id=principal.customer_id if principal else None,
                team_id=principal.team_id if principal else None,
                virtual_key_id=principal.key.id if principal else None,
                provider_config=attempt.grant.name if attempt.grant else None,
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
                cost_input_nanos=None if c is None else c.input,
                cost_cache_read_nanos=None if c is None else c.cache_read,
                cost_cache_write_5m_nanos=None if c is None else c.cache_write_5m,
                cost_cache_write_1h_nanos=None if c is None else c.cache_write_1h,
                cost_output_nanos=None if c is None else c.output,
                cost_reasoning_nanos=None if c is None else c.reasoning,
                cost_nanos=None if c is None else c.total,
                unpriced=price is None or price.unpriced,
                price_source=None if price is None else _source(price),
            )
        )


def _source(price: PriceResult) -> str:
    if price.region is None:
        return price.source
    return f"{price.source} (region {price.region}: {price.region_basis} entry)"
