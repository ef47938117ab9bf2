"""Step 4 of the path: try the candidates in order, with retries, reservations, fallbacks.

For each candidate model (the requested one, then `fallbacks`), for each of the caller's
provider configs that allow it, for each retry: pick a provider key by weight, price and
reserve the attempt (`Accountant.begin`), call the provider, then settle (on success) or
release (on failure before any token). A provider config out of budget or rate limit is
skipped for the next candidate; retryable upstream failures back off and retry.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import msgspec

from govern.accounting import Attempt, Estimator
from govern.errors import (
    GovernError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from govern.governance.gate import rate_limit_headers, rejection
from govern.governance.ledger import Denied
from govern.providers.base import Call, Provider
from govern.replies import RequestContext, Served
from govern.routing import Route

if TYPE_CHECKING:
    from govern.gateway import Gateway
    from govern.governance.model import ProviderGrant
    from govern.governance.principal import Principal

log = logging.getLogger("govern.pipeline")
T = TypeVar("T")

MAX_RETRY_AFTER = 10.0
"""An upstream `Retry-After` longer than this is not waited for: the next candidate is."""

Runner = Callable[[Provider, Call, int | None], Awaitable[T]]
"""Calls a provider; the int, when set, is an output limit the gateway must impose."""
EstimatorFor = Callable[[Route, str], Estimator]
"""The worst-case token estimator of a candidate (given its route and provider kind)."""


@dataclass(slots=True)
class Outcome(Generic[T]):
    """The successful attempt: the provider's result and how it was obtained."""

    result: T
    served: Served
    attempt: Attempt


async def attempt_candidates(
    gateway: Gateway,
    ctx: RequestContext,
    *,
    model: str,
    stream: bool,
    candidates: list[Route],
    principal: Principal | None,
    run: Runner[T],
    estimator_for: EstimatorFor,
    extras: dict[str, msgspec.Raw],
    output_limit: int | None,
) -> Outcome[T]:
    """Run the first candidate that succeeds; raise the error that explains the failure."""
    failures: list[tuple[Route, UpstreamError]] = []
    refused: Denied | None = None
    accountant = gateway.accountant
    number = 0
    for index, route in enumerate(candidates):
        provider = gateway.providers[route.provider]
        kind = gateway.config.provider_kind(route.provider)
        retries = provider.config.max_retries
        estimator = estimator_for(route, kind)
        for grant in _grants(principal, route):
            only = grant.keys if grant is not None else None
            key = None
            for retry in range(retries + 1):
                key = gateway.router.pick_key(route, avoid=key, only=only)
                number += 1
                try:
                    begun = await accountant.begin(
                        request_id=ctx.request_id,
                        number=number,
                        route=route,
                        kind=kind,
                        key_name=key.name,
                        fallback_index=index,
                        model_requested=model,
                        stream=stream,
                        principal=principal,
                        grant=grant,
                        estimator=estimator,
                    )
                except GovernError as exc:
                    await accountant.rejected(ctx.request_id, model, stream, exc, route, principal)
                    raise
                if isinstance(begun, Denied):
                    log.info("%s skipped: %s", route.qualified, rejection(begun, time.time()))
                    refused = begun
                    number -= 1
                    break  # this provider config is out of budget: try the next one
                cap = _imposed_limit(begun, output_limit)
                started = time.perf_counter()
                try:
                    result = await run(
                        provider, Call(route.provider, route.model, key, extras), cap
                    )
                except UpstreamError as exc:
                    ctx.upstream_seconds += time.perf_counter() - started
                    await accountant.failed(begun, exc)
                    if not exc.retryable:
                        raise
                    log.info(
                        "attempt %d on %s (key %s) failed: %s",
                        number,
                        route.qualified,
                        key.name,
                        exc.message,
                    )
                    failures.append((route, exc))
                    if retry < retries:
                        await asyncio.sleep(_backoff(provider.config.retry_backoff, retry, exc))
                    continue
                except BaseException:
                    if begun.admission is not None and accountant.gate is not None:
                        await accountant.gate.release(begun.admission)
                    raise
                ctx.upstream_seconds += time.perf_counter() - started
                headers = {}
                if begun.admission is not None:
                    headers = rate_limit_headers(begun.admission.usage, time.time())
                served = Served(route, key.name, index, number, headers)
                return Outcome(result, served, begun)
    if failures:
        raise _exhausted(failures)
    if refused is not None:
        error = rejection(refused, time.time())
        await accountant.rejected(ctx.request_id, model, stream, error, None, principal)
        raise error
    raise AssertionError("no candidate was tried")  # candidates are checked non-empty


def _grants(principal: Principal | None, route: Route) -> list[ProviderGrant | None]:
    """The caller's provider configs for a route, ordered by weight (None: no provider
    tier applies)."""
    if principal is None or not principal.restricts_providers:
        return [None]
    grants = list(principal.grants_for(route))
    if len(grants) <= 1:
        return list(grants)
    # A weighted random order: each config leads in proportion to its weight.
    keyed = sorted(grants, key=lambda g: -(random.random() ** (1 / g.weight)) if g.weight else 0)
    return list(keyed)


def _imposed_limit(attempt: Attempt, requested: int | None) -> int | None:
    """The output limit to send upstream: the reservation assumed one, so the call must
    not exceed it when the client set none (a hard cap that holds)."""
    if requested is not None or attempt.admission is None or attempt.estimate is None:
        return None
    return attempt.estimate.output_limit


def _backoff(base: float, attempt: int, exc: UpstreamError) -> float:
    retry_after = exc.retry_after if isinstance(exc, UpstreamStatusError) else None
    if retry_after is not None and retry_after <= MAX_RETRY_AFTER:
        return retry_after
    return float(base * (2**attempt) * (0.5 + random.random() / 2))


def _exhausted(failures: list[tuple[Route, UpstreamError]]) -> UpstreamError:
    """The error reported once every candidate and retry has failed."""
    last_route, last = failures[-1]
    tried = "; ".join(f"{route.qualified}: {exc.message}" for route, exc in failures)
    summary = f"all {len(failures)} attempts failed ({tried})"
    if isinstance(last, UpstreamTimeout):
        return UpstreamTimeout(summary, provider=last_route.provider)
    if isinstance(last, UpstreamStatusError) and last.upstream_status == 429:
        return UpstreamStatusError(
            summary,
            provider=last_route.provider,
            upstream_status=429,
            retry_after=last.retry_after,
        )
    return UpstreamUnavailable(summary, provider=last_route.provider)
