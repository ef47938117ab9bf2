"""The Redis ledger: counters shared by several gateway replicas (`pip install 'govern[redis]'`).

Reserve, settle, release, usage and restore are each one Lua script (`redis_scripts`),
run with EVALSHA (loaded on first use and again after a server restart), so every call
is atomic across replicas. Windows are computed here, in Python, from the caller's
clock; the server only counts. Window keys expire a grace period after their window
resets and reservation records after their TTL plus the retention, so Redis holds only
live state. Every script is idempotent per reservation id, which makes the client's
retries on a dropped connection safe. An unreachable server raises `LedgerUnavailable`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from govern.governance.ledger import (
    DEFAULT_RESERVATION_TTL,
    DEFAULT_RETENTION,
    Admitted,
    Claim,
    Denied,
    LedgerError,
    LedgerUnavailable,
    Limit,
    LimitUsage,
    SettleOutcome,
    SpendEntry,
    merge_claims,
    reset_or_none,
    window_totals,
)
from govern.governance.redis_scripts import FINISH, RESERVE, RESTORE, USAGE
from govern.governance.windows import NEVER

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _redis() -> Any:
    try:
        import redis.asyncio
    except ImportError:
        raise ImportError(
            "the Redis ledger needs the redis client: pip install 'govern[redis]'"
        ) from None
    return redis


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisLedger:
    """Budget and rate-limit counters in Redis (see `govern.governance.ledger`)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        client: Redis | None = None,
        prefix: str = "govern:ledger",
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        retention: float = DEFAULT_RETENTION,
        timeout: float = 2.0,
    ) -> None:
        redis = _redis()
        if client is None:
            # A few quick retries, not redis-py's default ten with backoff: an unreachable
            # server must fail the request (closed) within about `timeout`.
            retry = redis.asyncio.retry.Retry(
                redis.backoff.ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=2
            )
            client = redis.asyncio.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry
            )
            self._owns_client = True
        else:
            self._owns_client = False
        self.client: Redis = client
        self.prefix = prefix
        self.reservation_ttl = reservation_ttl
        self.retention = retention
        self._errors = redis.exceptions
        self._unavailable: tuple[type[Exception], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.ReadOnlyError,
            redis.exceptions.OutOfMemoryError,
            redis.exceptions.MasterDownError,
            OSError,
        )
        self._reserve = client.register_script(RESERVE)
        self._finish = client.register_script(FINISH)
        self._usage = client.register_script(USAGE)
        self._restore = client.register_script(RESTORE)

    def _keys(self, limit: Limit, start: float) -> tuple[str, str, str]:
        window = "c" if limit.kind == "concurrent" else repr(float(start))
        tail = f"{limit.id}:{window}"
        return f"{self.prefix}:w:{tail}", f"{self.prefix}:z:{tail}", f"{self.prefix}:a:{tail}"

    def _window_ttl_ms(self, reset_at: float, now: float) -> int:
        # Kept a retention past the reset, so late settles and reads still find the window.
        return -1 if reset_at == NEVER else _ms(reset_at - now + self.retention)

    async def _run(self, script: AsyncScript, keys: list[str], args: list[str]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except self._unavailable as exc:
            raise LedgerUnavailable(f"the Redis ledger is unreachable: {exc}") from exc
        except self._errors.RedisError as exc:
            raise LedgerError(f"the Redis ledger failed: {exc}") from exc

    async def reserve(
        self,
        reservation_id: str,
        claims: Sequence[Claim],
        now: float,
        *,
        ttl: float | None = None,
    ) -> Admitted | Denied:
        """Reserve every claim, or none; `ttl` overrides the ledger's reservation TTL."""
        claims = merge_claims(claims)
        hold = self.reservation_ttl if ttl is None else ttl
        expires_at = now + hold
        keys = [f"{self.prefix}:r:{reservation_id}"]
        per_claim: list[str] = []
        record: list[list[str]] = []
        windows: list[tuple[float, float]] = []
        for claim in claims:
            limit = claim.limit
            start, reset_at = limit.window(now)
            windows.append((start, reset_at))
            w, z, a = self._keys(limit, start)
            keys += (w, z, a)
            optimistic = limit.mode == "optimistic" and limit.kind != "concurrent"
            per_claim += (
                str(limit.amount),
                "1" if optimistic else "0",
                str(claim.amount),
                str(self._window_ttl_ms(reset_at, now)),
            )
            concurrent = "1" if limit.kind == "concurrent" else "0"
            reset = "-1" if reset_at == NEVER else repr(reset_at)
            record.append([limit.id, w, z, a, str(claim.amount), concurrent, reset])
        args = [
            reservation_id,
            repr(float(now)),
            repr(float(expires_at)),
            str(_ms(hold + self.retention)),
            msgspec.json.encode(record).decode(),
            *per_claim,
        ]
        result = await self._run(self._reserve, keys, args)
        code = int(result[0])
        if code == 0:
            index = int(result[1]) - 1
            claim = claims[index]
            return Denied(
                limit=claim.limit,
                spent=int(result[2]),
                reserved=int(result[3]),
                asked=claim.amount,
                reset_at=reset_or_none(windows[index][1]),
            )
        if code == 2:
            return Admitted(reservation_id=reservation_id, expires_at=float(_text(result[1])))
        if code == 3:
            raise LedgerError(f"reservation {reservation_id!r} was already used")
        usage = tuple(
            LimitUsage(
                limit=claim.limit,
                spent=int(result[1 + 2 * i]),
                reserved=int(result[2 + 2 * i]),
                window_start=windows[i][0],
                reset_at=reset_or_none(windows[i][1]),
            )
            for i, claim in enumerate(claims)
        )
        return Admitted(reservation_id=reservation_id, expires_at=expires_at, usage=usage)

    async def _end(
        self, reservation_id: str, action: str, now: float, actual: Mapping[str, int]
    ) -> str:
        args = [
            reservation_id,
            repr(float(now)),
            action,
            str(_ms(self.retention)),
            str(_ms(self.retention)),
        ]
        for limit_id, amount in actual.items():
            if amount < 0:
                raise LedgerError(f"actual[{limit_id!r}]: a charge must be >= 0, got {amount}")
            args += (limit_id, str(amount))
        return _text(await self._run(self._finish, [f"{self.prefix}:r:{reservation_id}"], args))

    async def settle(
        self, reservation_id: str, actual: Mapping[str, int], now: float
    ) -> SettleOutcome:
        """Replace the reservation with the actual amounts (per limit id); idempotent."""
        outcome = await self._end(reservation_id, "settle", now, actual)
        if outcome not in ("settled", "already_settled", "released", "unknown"):
            raise LedgerError(f"the Redis ledger answered {outcome!r} to a settle")
        return outcome  # type: ignore[return-value]

    async def release(self, reservation_id: str, now: float) -> bool:
        """Drop a reservation, charging nothing; False if it was not held (idempotent)."""
        return await self._end(reservation_id, "release", now, {}) == "held"

    async def usage(self, limits: Iterable[Limit], now: float) -> dict[str, LimitUsage]:
        """Each limit's counters in the window containing `now`, by limit id."""
        limits = list(limits)
        windows = [limit.window(now) for limit in limits]
        keys = [
            k
            for limit, (start, _) in zip(limits, windows, strict=True)
            for k in self._keys(limit, start)
        ]
        result = await self._run(self._usage, keys, [repr(float(now))]) if limits else []
        return {
            limit.id: LimitUsage(
                limit=limit,
                spent=int(result[2 * i]),
                reserved=int(result[2 * i + 1]),
                window_start=windows[i][0],
                reset_at=reset_or_none(windows[i][1]),
            )
            for i, limit in enumerate(limits)
        }

    async def restore(
        self, history: Iterable[SpendEntry], limits: Iterable[Limit], now: float
    ) -> dict[str, int]:
        """Seed the current windows of `limits` that have no spend yet from `history`
        (after Redis lost its data); returns the amount seeded per limit id."""
        counted = [limit for limit in limits if limit.kind != "concurrent"]
        totals = window_totals(history, counted, now)
        keys: list[str] = []
        args: list[str] = []
        for limit in counted:
            start, reset_at = limit.window(now)
            keys.append(self._keys(limit, start)[0])
            args += (str(totals[limit.id]), str(self._window_ttl_ms(reset_at, now)))
        result = await self._run(self._restore, keys, args) if keys else []
        return {
            limit.id: totals[limit.id]
            for limit, seeded in zip(counted, result, strict=True)
            if int(seeded)
        }

    async def close(self) -> None:
        """Close the connection pool (unless the client was passed in)."""
        if self._owns_client:
            await self.client.aclose()
