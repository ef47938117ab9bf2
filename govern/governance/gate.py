"""`Gate`: the governance step of the request path.

It authenticates the presented key, and for each upstream attempt reserves the
worst-case cost, one request, the worst-case tokens and a concurrency slot on every tier
that applies (customer, team, key, provider config) — all or nothing — then settles the
reservation to what the call really used, or releases it when the call failed before
any token. Rejections become 402 `budget_exceeded` / 429 `rate_limited` errors naming
the tier, entity, limit, current use and reset time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from govern.config import GovernanceConfig
from govern.errors import GovernError
from govern.governance.caps import Cap
from govern.governance.estimate import TokenEstimate
from govern.governance.ledger import (
    Admitted,
    Claim,
    Denied,
    Ledger,
    LedgerUnavailable,
    Limit,
    LimitUsage,
)
from govern.governance.model import ProviderGrant
from govern.governance.principal import Principal
from govern.governance.service import Governance
from govern.usage import Usage

log = logging.getLogger("govern.governance")

NANOS_PER_USD = 1_000_000_000
_PERIOD_NAMES = {
    "1m": "minute",
    "1h": "hour",
    "1d": "day",
    "1w": "week",
    "1M": "month",
    "never": "lifetime",
}


class BudgetExceeded(GovernError):
    """A budget on some tier cannot cover the call's worst-case cost (402)."""

    status = 402
    type = "budget_exceeded"


class RateLimited(GovernError):
    """A request, token or concurrency limit is reached (429, with `Retry-After`)."""

    status = 429
    type = "rate_limited"

    def __init__(self, message: str, *, code: str, retry_after: int | None):
        super().__init__(message, code=code)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """`Retry-After` in seconds when the window resets."""
        return {} if self.retry_after is None else {"retry-after": str(self.retry_after)}


class LedgerDown(GovernError):
    """The ledger cannot be reached and the gateway fails closed (503)."""

    status = 503
    type = "ledger_unavailable"


@dataclass(slots=True)
class Admission:
    """A reservation held for one attempt, to settle or release exactly once."""

    reservation_id: str
    caps: tuple[Cap, ...]
    limits: tuple[Limit, ...]
    usage: tuple[LimitUsage, ...]
    done: bool = False


def usd(nanos: int) -> str:
    """Nano-dollars as a dollar amount for messages."""
    return f"${nanos / NANOS_PER_USD:,.6f}".rstrip("0").rstrip(".")


class Gate:
    """Authentication and reserve/settle/release against the ledger."""

    def __init__(
        self,
        governance: Governance,
        ledger: Ledger,
        config: GovernanceConfig,
        clock: Callable[[], float] = time.time,
    ):
        self.governance = governance
        self.ledger = ledger
        self.config = config
        self.clock = clock
        self._limits: dict[Cap, Limit] = {}

    def authenticate(self, presented: str | None) -> Principal | None:
        """The caller's principal; None when no key was given and none is required."""
        return self.governance.authenticate(presented, self.clock())

    def limits(self, caps: tuple[Cap, ...]) -> tuple[Limit, ...]:
        """Ledger limits for caps; the same Limit object for the same cap (cheap reuse)."""
        out = []
        for cap in caps:
            limit = self._limits.get(cap)
            if limit is None:
                if len(self._limits) > 100_000:
                    self._limits.clear()
                limit = Limit(
                    id=cap.id,
                    tier=cap.tier,
                    entity_id=cap.entity_id,
                    kind=cap.kind,
                    amount=cap.amount,
                    period=cap.period,
                    alignment=cap.alignment,
                    anchor=cap.anchor,
                    mode=cap.mode,
                )
                self._limits[cap] = limit
            out.append(limit)
        return tuple(out)

    async def reserve(
        self,
        reservation_id: str,
        principal: Principal,
        grant: ProviderGrant | None,
        estimate: TokenEstimate,
        cost_nanos: int,
    ) -> Admission | Denied | None:
        """Reserve the worst case on every tier. Returns the admission; a `Denied` on the
        provider tier (the caller tries another provider); None when the ledger is down
        and `fail_open` lets the call through uncounted. Raises 402/429/503 otherwise."""
        caps = principal.caps(grant)
        if not caps:
            return Admission(reservation_id, caps, (), ())
        limits = self.limits(caps)
        claims = [
            Claim(
                limit, claim_amount(cap, estimate.input_tokens, estimate.output_tokens, cost_nanos)
            )
            for cap, limit in zip(caps, limits, strict=True)
        ]
        now = self.clock()
        try:
            result = await self.ledger.reserve(reservation_id, claims, now)
        except LedgerUnavailable as exc:
            self._ledger_down(exc)
            return None
        if isinstance(result, Denied):
            if result.limit.tier == "provider":
                return result
            raise rejection(result, now)
        assert isinstance(result, Admitted)
        return Admission(reservation_id, caps, limits, result.usage)

    async def count_cached(self, reservation_id: str, principal: Principal) -> dict[str, str]:
        """Count a cache hit: it uses request rate limits, never budgets or token limits.
        Returns the rate-limit headers; raises 429 when a request limit is reached."""
        caps = tuple(c for c in principal.caps(None) if c.kind == "requests")
        if not caps:
            return {}
        limits = self.limits(caps)
        now = self.clock()
        try:
            result = await self.ledger.reserve(
                reservation_id, [Claim(limit, 1) for limit in limits], now
            )
        except LedgerUnavailable as exc:
            self._ledger_down(exc)
            return {}
        if isinstance(result, Denied):
            raise rejection(result, now)
        await self.ledger.settle(reservation_id, {}, now)
        return rate_limit_headers(result.usage, now)

    async def settle(self, admission: Admission, usage: Usage, cost_nanos: int) -> None:
        """Replace the reservation by what the call used (once)."""
        if admission.done:
            return
        admission.done = True
        if not admission.caps:
            return
        actual = {
            cap.id: claim_amount(cap, usage.input_tokens, usage.output_tokens, cost_nanos)
            for cap in admission.caps
            if cap.kind in ("usd", "tokens")
        }
        try:
            await self.ledger.settle(admission.reservation_id, actual, self.clock())
        except LedgerUnavailable:
            log.error(
                "could not settle %s: the ledger is unreachable (the reservation "
                "lapses at its expiry)",
                admission.reservation_id,
            )

    async def release(self, admission: Admission) -> None:
        """Drop the reservation: the call failed before any token (once)."""
        if admission.done:
            return
        admission.done = True
        if not admission.caps:
            return
        try:
            await self.ledger.release(admission.reservation_id, self.clock())
        except LedgerUnavailable:
            log.error(
                "could not release %s: the ledger is unreachable (the reservation "
                "lapses at its expiry)",
                admission.reservation_id,
            )

    def _ledger_down(self, exc: LedgerUnavailable) -> None:
        if self.config.on_ledger_error == "fail_open":
            log.warning("ledger unreachable, letting a call through uncounted: %s", exc)
            return
        raise LedgerDown(
            "budgets cannot be checked: the ledger is unreachable, so the gateway refuses "
            "calls until it is back (governance.on_ledger_error = fail_closed)"
        ) from None


def claim_amount(cap: Cap, input_tokens: int, output_tokens: int, cost_nanos: int) -> int:
    """What one call counts on a cap: its cost, its tokens (as the cap counts them), or
    one request or slot."""
    if cap.kind == "usd":
        return cost_nanos
    if cap.kind == "tokens":
        if cap.count == "input":
            return input_tokens
        if cap.count == "output":
            return output_tokens
        return input_tokens + output_tokens
    return 1  # requests, concurrent


def rejection(denied: Denied, now: float) -> GovernError:
    """The 402/429 error for a refused reservation, naming tier, entity, limit, use, reset."""
    limit = denied.limit
    who = f"{limit.tier} {limit.entity_id!r}"
    resets = _resets(denied.reset_at)
    if limit.kind == "usd":
        return BudgetExceeded(
            f"budget exceeded: {who} has a {usd(limit.amount)} {_PERIOD_NAMES[limit.period]}"
            f" budget; {usd(denied.spent)} spent and {usd(denied.reserved)} reserved, and "
            f"this call may cost up to {usd(denied.asked)}{resets}",
            code=f"{limit.tier}_budget_exceeded",
        )
    if limit.kind == "concurrent":
        return RateLimited(
            f"concurrency limit: {who} allows {limit.amount} requests in flight and "
            f"{denied.reserved} are running",
            code=f"{limit.tier}_concurrency_limited",
            retry_after=1,
        )
    unit = "requests" if limit.kind == "requests" else "tokens"
    return RateLimited(
        f"rate limit: {who} allows {limit.amount} {unit} per "
        f"{_PERIOD_NAMES[limit.period]}; {denied.used} used and this call needs "
        f"{denied.asked}{resets}",
        code=f"{limit.tier}_{unit}_rate_limited",
        retry_after=denied.retry_after(now),
    )


def _resets(reset_at: float | None) -> str:
    if reset_at is None:
        return " (this limit never resets)"
    at = datetime.fromtimestamp(reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"; the window resets at {at}"


def rate_limit_headers(usage: tuple[LimitUsage, ...], now: float) -> dict[str, str]:
    """`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for the tightest limits."""
    headers: dict[str, str] = {}
    for kind, suffix in (("requests", "requests"), ("tokens", "tokens")):
        tightest = min(
            (u for u in usage if u.limit.kind == kind),
            key=lambda u: (u.remaining, u.reset_at or float("inf")),
            default=None,
        )
        if tightest is None:
            continue
        headers[f"x-ratelimit-limit-{suffix}"] = str(tightest.limit.amount)
        headers[f"x-ratelimit-remaining-{suffix}"] = str(tightest.remaining)
        if tightest.reset_at is not None:
            headers[f"x-ratelimit-reset-{suffix}"] = _duration(tightest.reset_at - now)
    return headers


def _duration(seconds: float) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `1h2m3s`."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
