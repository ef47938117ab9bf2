"""The in-process ledger: counters in dicts, for one gateway process (the default).

Every method does its work without awaiting, so within one event loop each call is
atomic: no other request can run between a reservation's check and its apply. A call
costs O(claims) plus the amortised expiry of lapsed reservations. The counters live in
memory; at start the gateway rebuilds them from the request log with `restore`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence

from govern.governance.ledger import (
    DEFAULT_RESERVATION_TTL,
    DEFAULT_RETENTION,
    Admitted,
    Claim,
    Denied,
    LedgerError,
    Limit,
    LimitUsage,
    SettleOutcome,
    SpendEntry,
    merge_claims,
    reset_or_none,
    window_totals,
)

_HELD, _EXPIRED, _SETTLED, _RELEASED = range(4)
# Rebuild the expiry heap when settled entries outnumber live ones by this much, so its
# size follows the requests in flight, not the request rate times the TTL.
_HEAP_SLACK = 1_024


class _Window:
    """One limit's counters in one window."""

    __slots__ = ("reserved", "reset_at", "spent", "start")

    def __init__(self, start: float, reset_at: float) -> None:
        self.start = start
        self.reset_at = reset_at
        self.spent = 0
        self.reserved = 0


class _State:
    """A limit as last seen, and its current window."""

    __slots__ = ("limit", "window")

    def __init__(self, limit: Limit, window: _Window) -> None:
        self.limit = limit
        self.window = window


class _Record:
    """A reservation: the windows it holds amounts in (those it was made in)."""

    __slots__ = ("expires_at", "holds", "seq")

    def __init__(self, holds: list[tuple[_Window, Claim]], expires_at: float, seq: int) -> None:
        self.holds = holds
        self.expires_at = expires_at
        self.seq = seq


def _same_window_spec(a: Limit, b: Limit) -> bool:
    return a.period == b.period and a.alignment == b.alignment and a.anchor == b.anchor


def _usage(limit: Limit, window: _Window) -> LimitUsage:
    return LimitUsage(
        limit=limit,
        spent=window.spent,
        reserved=window.reserved,
        window_start=window.start,
        reset_at=reset_or_none(window.reset_at),
    )


class MemoryLedger:
    """Budget and rate-limit counters in this process (see `govern.governance.ledger`).

    Finished and lapsed reservations are remembered (for idempotent and late settles)
    for between `retention` and twice that: two generations of ids, the older dropped
    wholesale, so no per-reservation timer outlives the request.
    """

    def __init__(
        self,
        *,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        retention: float = DEFAULT_RETENTION,
    ) -> None:
        self.reservation_ttl = reservation_ttl
        self.retention = retention
        self._states: dict[str, _State] = {}
        self._held: dict[str, _Record] = {}
        self._expiries: list[tuple[float, int, str]] = []
        # Finished ids -> their status; lapsed ones -> their record (a late settle charges).
        self._recent: dict[str, _Record | int] = {}
        self._older: dict[str, _Record | int] = {}
        self._rotate_at: float | None = None
        self._seq = itertools.count()

    async def reserve(
        self,
        reservation_id: str,
        claims: Sequence[Claim],
        now: float,
        *,
        ttl: float | None = None,
    ) -> Admitted | Denied:
        """Reserve every claim, or none; `ttl` overrides the ledger's reservation TTL."""
        return self.reserve_nowait(reservation_id, claims, now, ttl=ttl)

    def reserve_nowait(
        self,
        reservation_id: str,
        claims: Sequence[Claim],
        now: float,
        *,
        ttl: float | None = None,
    ) -> Admitted | Denied:
        """`reserve` without the coroutine (it never waits)."""
        self._expire(now)
        record = self._held.get(reservation_id)
        if record is not None:
            return _admitted(reservation_id, record)
        if reservation_id in self._recent or reservation_id in self._older:
            raise LedgerError(f"reservation {reservation_id!r} was already used")
        claims = merge_claims(claims)
        windows: list[_Window] = []
        for claim in claims:
            limit = claim.limit
            window = self._window(limit, now)
            if limit.mode == "optimistic" and limit.kind != "concurrent":
                admitted = window.spent < limit.amount
            else:
                admitted = window.spent + window.reserved + claim.amount <= limit.amount
            if not admitted:
                return Denied(
                    limit=limit,
                    spent=window.spent,
                    reserved=window.reserved,
                    asked=claim.amount,
                    reset_at=reset_or_none(window.reset_at),
                )
            windows.append(window)
        for window, claim in zip(windows, claims, strict=True):
            window.reserved += claim.amount
        expires_at = now + (self.reservation_ttl if ttl is None else ttl)
        seq = next(self._seq)
        record = _Record(list(zip(windows, claims, strict=True)), expires_at, seq)
        self._held[reservation_id] = record
        heapq.heappush(self._expiries, (expires_at, seq, reservation_id))
        return _admitted(reservation_id, record)

    async def settle(
        self, reservation_id: str, actual: Mapping[str, int], now: float
    ) -> SettleOutcome:
        """Replace the reservation with the actual amounts (per limit id); idempotent."""
        return self.settle_nowait(reservation_id, actual, now)

    def settle_nowait(
        self, reservation_id: str, actual: Mapping[str, int], now: float
    ) -> SettleOutcome:
        """`settle` without the coroutine."""
        for limit_id, amount in actual.items():
            if amount < 0:
                raise LedgerError(f"actual[{limit_id!r}]: a charge must be >= 0, got {amount}")
        self._expire(now)
        record = self._held.pop(reservation_id, None)
        held = record is not None
        if record is None:
            found = self._finished(reservation_id)
            if found is None:
                return "unknown"
            if found == _SETTLED:
                return "already_settled"
            if found == _RELEASED:
                return "released"
            assert isinstance(found, _Record)
            record = found
        for window, claim in record.holds:
            if held:
                window.reserved -= claim.amount
            if claim.limit.kind != "concurrent":
                window.spent += actual.get(claim.limit.id, claim.amount)
        self._remember(reservation_id, _SETTLED, now)
        return "settled"

    async def release(self, reservation_id: str, now: float) -> bool:
        """Drop a reservation, charging nothing; False if it was not held (idempotent)."""
        return self.release_nowait(reservation_id, now)

    def release_nowait(self, reservation_id: str, now: float) -> bool:
        """`release` without the coroutine."""
        self._expire(now)
        record = self._held.pop(reservation_id, None)
        if record is None:
            if isinstance(self._finished(reservation_id), _Record):
                self._remember(reservation_id, _RELEASED, now)
            return False
        for window, claim in record.holds:
            window.reserved -= claim.amount
        self._remember(reservation_id, _RELEASED, now)
        return True

    async def usage(self, limits: Iterable[Limit], now: float) -> dict[str, LimitUsage]:
        """Each limit's counters in the window containing `now`, by limit id."""
        self._expire(now)
        result: dict[str, LimitUsage] = {}
        for limit in limits:
            if limit.id in self._states:
                window = self._window(limit, now)
            else:
                # Not touched yet: report an empty window without creating counters, so a
                # later `restore` still seeds this limit.
                window = _Window(*limit.window(now))
            result[limit.id] = _usage(limit, window)
        return result

    async def restore(
        self, history: Iterable[SpendEntry], limits: Iterable[Limit], now: float
    ) -> dict[str, int]:
        """Seed the current windows of `limits` that have no counters yet from `history`;
        returns the amount seeded per limit id."""
        fresh = [limit for limit in limits if limit.id not in self._states]
        totals = window_totals(history, fresh, now)
        for limit in fresh:
            if limit.id in totals:
                self._window(limit, now).spent = totals[limit.id]
        return totals

    async def close(self) -> None:
        """Nothing to release."""

    def _window(self, limit: Limit, now: float) -> _Window:
        """The limit's current window, rolled over when `now` has passed its reset."""
        state = self._states.get(limit.id)
        if state is None:
            window = _Window(*limit.window(now))
            self._states[limit.id] = _State(limit, window)
            return window
        window = state.window
        if state.limit is not limit:
            # The limit was edited (or rebuilt): a new amount keeps the window's spend; a
            # new period, alignment or anchor starts the window those give.
            if not _same_window_spec(state.limit, limit) or state.limit.kind != limit.kind:
                start, reset_at = limit.window(now)
                if (start, reset_at) != (window.start, window.reset_at):
                    window = state.window = _Window(start, reset_at)
            state.limit = limit
        if now >= window.reset_at:
            # Only ever forward: a clock stepping back does not reopen a past window.
            window = state.window = _Window(*limit.window(now))
        return window

    def _finished(self, reservation_id: str) -> _Record | int | None:
        found = self._recent.get(reservation_id)
        return self._older.get(reservation_id) if found is None else found

    def _remember(self, reservation_id: str, outcome: _Record | int, now: float) -> None:
        self._older.pop(reservation_id, None)
        self._recent[reservation_id] = outcome
        if self._rotate_at is None:
            self._rotate_at = now + self.retention

    def _expire(self, now: float) -> None:
        """Free what lapsed reservations hold; forget finished ones past their retention."""
        if self._rotate_at is not None and now >= self._rotate_at:
            # Older ids go; recent ones become older, or go too after a long quiet spell.
            kept = self._recent if now < self._rotate_at + self.retention else {}
            self._older, self._recent = kept, {}
            self._rotate_at = now + self.retention if kept else None
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            _, seq, reservation_id = heapq.heappop(expiries)
            record = self._held.get(reservation_id)
            if record is None or record.seq != seq:
                continue  # settled or released already
            del self._held[reservation_id]
            for window, claim in record.holds:
                window.reserved -= claim.amount
            self._remember(reservation_id, record, now)
        if len(expiries) > 2 * len(self._held) + _HEAP_SLACK:
            self._expiries = [(r.expires_at, r.seq, rid) for rid, r in self._held.items()]
            heapq.heapify(self._expiries)


def _admitted(reservation_id: str, record: _Record) -> Admitted:
    return Admitted(
        reservation_id=reservation_id,
        expires_at=record.expires_at,
        usage=tuple([_usage(c.limit, w) for w, c in record.holds]),
    )
