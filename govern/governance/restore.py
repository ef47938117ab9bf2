"""Rebuild budget and rate-limit counters from the request log, so a restart forgets nothing.

Every settled attempt is a log row carrying its virtual key, provider config, tokens and
cost: replaying the rows of the current windows through each principal's caps gives the
counters the in-process ledger had. Rows of rejected requests and failed attempts are
skipped (they consumed no quota); a stream the client dropped was charged, so it counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from govern.governance.caps import Cap
from govern.governance.gate import Gate
from govern.governance.ledger import Limit, history_start
from govern.governance.principal import Principal
from govern.logs.sql import where
from govern.logs.store import LogStore

SpendEntry = tuple[float, dict[str, int]]


def all_caps(principals: Iterable[Principal]) -> dict[str, tuple[Cap, ...]]:
    """Each (key id, provider config name or "") -> the caps a call through it meets."""
    out: dict[str, tuple[Cap, ...]] = {}
    for principal in principals:
        out[f"{principal.key.id}|"] = principal.caps(None)
        for grant in principal.key.providers or ():
            out[f"{principal.key.id}|{grant.name}"] = principal.caps(grant)
    return out


async def restore_from_log(gate: Gate, store: LogStore, now: float) -> dict[str, int]:
    """Seed the ledger's current windows from the log; returns the amount per limit id."""
    principals = list(gate.governance.registry.principals())
    caps_by_path = all_caps(principals)
    limits: dict[str, Limit] = {}
    for caps in caps_by_path.values():
        for limit in gate.limits(caps):
            limits[limit.id] = limit
    start = history_start(limits.values(), now)
    if start is None:
        return {}
    rows = await asyncio.to_thread(_settled_rows, store, start)
    history = list(_entries(rows, caps_by_path))
    return await gate.ledger.restore(history, limits.values(), now)


def _settled_rows(store: LogStore, start: float) -> list[tuple[object, ...]]:
    w = where(store.dialect, since=datetime.fromtimestamp(start, UTC))
    w.add("virtual_key_id IS NOT NULL")
    # settled attempts, streams the client dropped (charged), and cache hits (requests)
    w.add(
        "((attempt > 0 AND (status = 200 OR error_type = 'client_disconnected'))"
        " OR (attempt = 0 AND cache <> 'miss'))"
    )
    sql = (
        "SELECT ts, virtual_key_id, provider_config, input_tokens, output_tokens, cost_nanos,"
        f" cache FROM requests{w.sql()}"
    )
    _, rows = store.fetch(sql, w.params)
    return [(store.dialect.ts_value(r[0]), *r[1:]) for r in rows]


def _entries(
    rows: Iterable[tuple[object, ...]], caps_by_path: dict[str, tuple[Cap, ...]]
) -> Iterator[SpendEntry]:
    for ts, key_id, grant, input_tokens, output_tokens, cost_nanos, cache in rows:
        caps = caps_by_path.get(f"{key_id}|{grant or ''}")
        if caps is None:
            continue  # the key or config is gone: its limits are gone too
        amounts: dict[str, int] = {}
        for cap in caps:
            if cache != "miss":  # a cache hit counts as a request, nothing else
                if cap.kind == "requests":
                    amounts[cap.id] = 1
            elif cap.kind == "usd":
                amounts[cap.id] = int(cost_nanos or 0)  # type: ignore[call-overload]
            elif cap.kind == "requests":
                amounts[cap.id] = 1
            elif cap.kind == "tokens":
                n_in, n_out = int(input_tokens), int(output_tokens)  # type: ignore[call-overload]
                amounts[cap.id] = (
                    n_in
                    if cap.count == "input"
                    else n_out
                    if cap.count == "output"
                    else n_in + n_out
                )
        assert isinstance(ts, datetime)
        yield ts.timestamp(), amounts
