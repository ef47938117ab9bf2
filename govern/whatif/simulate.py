"""`simulate`: replay a trace through a budget and rate-limit hierarchy with the gateway's
own governance code: its entities, caps, windows and in-process ledger, on the trace's
clock instead of the wall clock.

Each request is reserved on every cap of every tier that applies (customer, team, key,
and the provider config the call would go through) at its timestamp, all or nothing, and
settled `duration` seconds later. The reservation is the call's exact cost and tokens, as
the gateway reserves for a `sim` model with `max_tokens` set to the tokens it will
generate. A provider config out of room is skipped for the key's next one that serves
the model, as routing does; a request no provider config can take is rejected by the
first cap that refused it.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from govern.governance.caps import Cap
from govern.governance.gate import claim_amount, rejection
from govern.governance.ledger import Admitted, Claim, Denied, Limit
from govern.governance.memory_ledger import MemoryLedger
from govern.governance.model import ProviderGrant
from govern.governance.principal import Principal
from govern.routing import Route
from govern.whatif.hierarchy import Hierarchy, entities_of, limit_of, principal_of
from govern.whatif.rates import TOKEN_FIELDS, row_nanos
from govern.whatif.reprice import token_table

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from govern.catalog.catalog import Catalog


@dataclass(frozen=True)
class Simulation:
    """What a hierarchy did to a trace.

    `requests`: one row per trace row: the model it was given, the provider config it
    went through, `status` (200 admitted, 402 over budget, 429 over a rate limit, 403 model
    not allowed), the tier, entity and cap that rejected it, what it was charged
    (`cost_nanos`, 0 when rejected) and the error message the gateway would have sent.

    `timeline`: after each admitted request, every cap it counted on: the `amount`
    counted, `used` (spent plus in-flight reservations in the current window), `limit`,
    and the window's start. `summary`: one row per cap: requests admitted and rejected by
    it, the total charged to it, and when it first rejected one.
    """

    requests: pd.DataFrame
    timeline: pd.DataFrame
    summary: pd.DataFrame

    def _repr_html_(self) -> str:
        return str(self.summary._repr_html_())  # type: ignore[operator]


@dataclass
class _Path:
    """One way a route can be called: through a provider config (or none), its limits."""

    grant: ProviderGrant | None
    caps: tuple[Cap, ...]
    limits: tuple[Limit, ...]


def _claims(path: _Path, cost: int, input_tokens: int, output_tokens: int) -> list[Claim]:
    """What one call counts on each cap, exactly as the gateway's gate counts it."""
    return [
        Claim(limit, claim_amount(cap, input_tokens, output_tokens, cost))
        for cap, limit in zip(path.caps, path.limits, strict=True)
    ]


def _paths(principal: Principal, route: Route) -> list[_Path] | None:
    """The ways to call `route`, in the key's order; None when the key may not use it."""
    if not principal.allows(route):
        return None
    grants: Sequence[ProviderGrant | None] = (
        principal.grants_for(route) if principal.restricts_providers else [None]
    )
    out = []
    for grant in grants:
        caps = principal.caps(grant)
        out.append(_Path(grant, caps, tuple(limit_of(c) for c in caps)))
    return out


def _assign_models(
    model: str | Mapping[str, float], rows: int, seed: int
) -> tuple[list[str], npt.NDArray[np.intp]]:
    import numpy as np

    if isinstance(model, str):
        return [model], np.zeros(rows, dtype=np.intp)
    names = list(model)
    weights = np.array([float(model[m]) for m in names])
    if not names or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("model: a mix needs model names with weights >= 0, not all 0")
    rng = np.random.default_rng(seed)
    return names, rng.choice(len(names), size=rows, p=weights / weights.sum())


def _times(trace: pd.DataFrame, start: datetime | None) -> list[float]:
    import pandas as pd

    if "TIMESTAMP" in trace.columns:
        stamps = pd.to_datetime(trace["TIMESTAMP"], utc=True, format="ISO8601")
    elif "ts" in trace.columns:
        stamps = pd.to_datetime(trace["ts"], utc=True)
    else:
        raise ValueError("simulate needs a TIMESTAMP (trace) or ts (request log) column")
    seconds = (stamps - stamps.iloc[0]).dt.total_seconds()
    origin = (start or stamps.iloc[0].to_pydatetime()).timestamp()
    return (seconds + origin).tolist()


def simulate(
    hierarchy: Hierarchy,
    trace: pd.DataFrame,
    model: str | Mapping[str, float] = "openai/gpt-4o-mini",
    *,
    key: str | None = None,
    start: datetime | None = None,
    duration: float = 0.0,
    catalog: Catalog | None = None,
    seed: int = 0,
) -> Simulation:
    """Replay `trace` (TIMESTAMP, ContextTokens, GeneratedTokens) through `hierarchy` as
    virtual key `key` calling `model` (`provider/model`, or a mix `{model: weight}` drawn
    per row with `seed`); `start` moves the trace to begin then (the trace's own times by
    default); each call holds its reservation `duration` seconds."""
    import numpy as np

    if catalog is None:
        from govern.catalog import default_catalog

        catalog = default_catalog()
    if duration < 0:
        raise ValueError("duration: must be >= 0 seconds")
    times = _times(trace, start)
    table, _, _ = token_table(trace)
    names, choice = _assign_models(model, len(table), seed)
    routes = [_route(name) for name in names]
    first = datetime.fromtimestamp(times[0], UTC) if times else start or datetime.now(UTC)
    providers = {r.provider for r in routes} | _grant_providers(hierarchy)
    principal = principal_of(entities_of(hierarchy, providers, first), key)
    tokens = {name: table[name].to_numpy(dtype=np.int64) for name in TOKEN_FIELDS}
    costs = np.zeros(len(table), dtype=np.int64)
    for i, name in enumerate(names):
        found = catalog.lookup(name)
        if found is None:
            raise LookupError(f"no price for {name}; see govern.catalog.models()")
        mask = choice == i
        costs[mask] = row_nanos({f: a[mask] for f, a in tokens.items()}, found.price)
    replay = _Replay(principal, routes, names)
    for row in range(len(table)):
        replay.call(
            row,
            times[row],
            int(choice[row]),
            int(costs[row]),
            int(tokens["input_tokens"][row]),
            int(tokens["output_tokens"][row]),
            duration,
        )
    replay.finish()
    return replay.frames(list(table.index), names)


def _route(name: str) -> Route:
    provider, _, model = name.partition("/")
    if not model:
        raise ValueError(f"model: {name!r} is not `provider/model`")
    return Route(provider, model)


def _grant_providers(hierarchy: Hierarchy) -> set[str]:
    from govern.whatif.hierarchy import governance_section

    section = governance_section(hierarchy)
    return {spec.provider for k in section.virtual_keys for spec in k.providers or ()}


class _Replay:
    """The ledger, its clock, and what happened to each request."""

    def __init__(self, principal: Principal, routes: list[Route], names: list[str]):
        self.principal = principal
        self.names = names
        self.ledger = MemoryLedger()
        self.paths = [_paths(principal, route) for route in routes]
        self.in_flight: list[tuple[float, int, dict[str, int]]] = []
        self.rows: list[tuple[Any, ...]] = []
        self.timeline: list[tuple[Any, ...]] = []
        self.caps = {c.id: c for p in self.paths for path in p or () for c in path.caps}

    def _settle_until(self, now: float) -> None:
        while self.in_flight and self.in_flight[0][0] <= now:
            end, row, actual = heapq.heappop(self.in_flight)
            self.ledger.settle_nowait(str(row), actual, end)

    def call(
        self,
        row: int,
        now: float,
        model: int,
        cost: int,
        input_tokens: int,
        output_tokens: int,
        duration: float,
    ) -> None:
        """One request at `now`: reserve on every cap of the first path with room."""
        self._settle_until(now)
        paths = self.paths[model]
        base = (row, now, model, input_tokens, output_tokens)
        if paths is None:
            key_id = self.principal.key.id
            why = f"virtual key {key_id!r} may not use model {self.names[model]!r}"
            self.rows.append((*base, None, 403, "key", key_id, "model_not_allowed", 0, why))
            return
        denied: Denied | None = None
        for path in paths:
            claims = _claims(path, cost, input_tokens, output_tokens)
            answer = self.ledger.reserve_nowait(str(row), claims, now)
            if isinstance(answer, Admitted):
                self._admitted(row, now, path, answer, claims, duration)
                self.rows.append((*base, _grant_name(path), 200, None, None, None, cost, None))
                return
            denied = denied or answer
        if denied is None:  # the key's provider configs all exclude the model
            key_id = self.principal.key.id
            why = f"no provider config of virtual key {key_id!r} serves {self.names[model]!r}"
            self.rows.append((*base, None, 403, "key", key_id, "no_provider", 0, why))
            return
        limit = denied.limit
        error = rejection(denied, now)  # the gateway's own 402/429 and its message
        row_out = (None, error.status, limit.tier, limit.entity_id, limit.id, 0, error.message)
        self.rows.append((*base, *row_out))

    def _admitted(
        self,
        row: int,
        now: float,
        path: _Path,
        answer: Admitted,
        claims: list[Claim],
        duration: float,
    ) -> None:
        actual = {claim.limit.id: claim.amount for claim in claims}
        for usage in answer.usage:
            limit = usage.limit
            self.timeline.append(
                (row, now, limit.id, actual[limit.id], usage.used, limit.amount, usage.window_start)
            )
        if duration == 0:
            self.ledger.settle_nowait(str(row), actual, now)
        else:
            heapq.heappush(self.in_flight, (now + duration, row, actual))

    def finish(self) -> None:
        """Settle every call still in flight."""
        self._settle_until(float("inf"))

    def frames(self, index: list[Any], names: list[str]) -> Simulation:
        """The results as DataFrames."""
        from govern.whatif.simulate_frames import simulation_frames

        return simulation_frames(self.rows, self.timeline, self.caps, index, names)


def _grant_name(path: _Path) -> str | None:
    return None if path.grant is None else path.grant.name
