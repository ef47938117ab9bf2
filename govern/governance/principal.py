"""`Principal`: who is calling (a virtual key, its team and customer) and what it may do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from govern.errors import PermissionDenied
from govern.governance.caps import Cap, budget_cap, concurrency_cap, rate_limit_caps
from govern.governance.model import (
    Budget,
    Customer,
    Entities,
    EntityRef,
    ProviderGrant,
    RateLimit,
    Team,
    Tier,
    VirtualKey,
)
from govern.governance.patterns import ModelMatcher
from govern.routing import Route


@dataclass(frozen=True, slots=True)
class Scope:
    """One tier's entity and the limits it holds."""

    tier: Tier
    ref: EntityRef
    budgets: tuple[Budget, ...]
    rate_limits: tuple[RateLimit, ...]

    def caps(self) -> tuple[Cap, ...]:
        """The entity's budgets and rate limits as caps (no concurrency cap)."""
        out = [budget_cap(b) for b in self.budgets]
        for limit in self.rate_limits:
            out += rate_limit_caps(limit)
        return tuple(out)


def scope_of(entities: Entities, ref: EntityRef) -> Scope:
    """The scope of entity `ref` in `entities`."""
    return Scope(ref.kind, ref, entities.budgets_of(ref), entities.rate_limits_of(ref))


@dataclass(frozen=True, slots=True, eq=False)
class Principal:
    """A resolved virtual key. Built once per store revision; reading it is free."""

    key: VirtualKey
    team: Team | None
    customer: Customer | None
    scopes_above: tuple[Scope, ...]
    """Customer, team and key scopes that apply (outermost first)."""
    grant_scopes: dict[str, Scope]
    """The scope of each provider config, by its name."""
    matcher: ModelMatcher
    grant_matchers: dict[str, ModelMatcher]
    _caps: dict[str | None, tuple[Cap, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, key: VirtualKey, entities: Entities) -> Principal:
        """The principal of `key` (whose team and customer are in `entities`)."""
        team = entities.teams.get(key.team_id) if key.team_id else None
        customer_id = team.customer_id if team is not None else key.customer_id
        customer = entities.customers.get(customer_id) if customer_id else None
        above = [scope_of(entities, EntityRef("customer", customer.id))] if customer else []
        if team is not None:
            above.append(scope_of(entities, EntityRef("team", team.id)))
        above.append(scope_of(entities, key.ref))
        grants = {g.name: scope_of(entities, EntityRef.grant(key.id, g.name)) for g in key.grants}
        common = tuple(c for s in above for c in s.caps())
        concurrent = concurrency_cap(key)
        if concurrent is not None:
            common += (concurrent,)
        caps: dict[str | None, tuple[Cap, ...]] = {None: common}
        for name, scope in grants.items():
            caps[name] = common + scope.caps()
        return cls(
            key=key,
            team=team,
            customer=customer,
            scopes_above=tuple(above),
            grant_scopes=grants,
            matcher=ModelMatcher(key.models),
            grant_matchers={
                g.name: ModelMatcher(g.models) for g in key.grants if g.models is not None
            },
            _caps=caps,
        )

    @property
    def customer_id(self) -> str | None:
        """The customer whose budgets apply (the team's, or the key's own)."""
        return self.customer.id if self.customer is not None else None

    @property
    def team_id(self) -> str | None:
        """The key's team."""
        return self.team.id if self.team is not None else None

    @property
    def restricts_providers(self) -> bool:
        """True when the key lists provider configs: only those providers may be used."""
        return self.key.providers is not None

    def grants_for(self, route: Route) -> tuple[ProviderGrant, ...]:
        """The key's provider configs that allow `route` (in declaration order); empty for
        a key without provider configs (then no provider tier applies)."""
        if not self.matcher.allows(route.provider, route.model):
            return ()
        return tuple(
            g
            for g in self.key.providers or ()
            if g.provider == route.provider and self._grant_allows(g, route)
        )

    def _grant_allows(self, grant: ProviderGrant, route: Route) -> bool:
        matcher = self.grant_matchers.get(grant.name)
        return matcher is None or matcher.allows(route.provider, route.model)

    def allows(self, route: Route) -> bool:
        """Whether the key may call `route` at all (allow lists and provider configs)."""
        if not self.matcher.allows(route.provider, route.model):
            return False
        return not self.restricts_providers or bool(self.grants_for(route))

    def check_model(self, route: Route) -> None:
        """Raise PermissionDenied (403) naming the key and model unless `route` is allowed."""
        if self.allows(route):
            return
        key = self.key.id
        if not self.matcher.allows(route.provider, route.model):
            message = (
                f"virtual key {key!r} may not use model {route.qualified!r} "
                f"(allowed: {self.matcher.describe()})"
            )
        elif not any(g.provider == route.provider for g in self.key.grants):
            names = ", ".join(sorted({g.provider for g in self.key.grants})) or "none"
            message = (
                f"virtual key {key!r} may not use provider {route.provider!r} "
                f"for model {route.qualified!r} (allowed providers: {names})"
            )
        else:
            message = (
                f"virtual key {key!r} may not use model {route.qualified!r}: "
                f"its {route.provider!r} provider config does not allow it"
            )
        raise PermissionDenied(message, code="model_not_allowed", param="model")

    def allowed_models(self, qualified: Iterable[str]) -> list[str]:
        """The `provider/model` names (as `GET /v1/models` lists) this key may use."""
        out = []
        for name in qualified:
            provider, sep, model = name.partition("/")
            if sep and self.allows(Route(provider, model)):
                out.append(name)
        return out

    def scopes(self, grant: ProviderGrant | None = None) -> tuple[Scope, ...]:
        """Every tier that applies to a call through `grant`, outermost first."""
        if grant is None:
            return self.scopes_above
        return (*self.scopes_above, self.grant_scopes[grant.name])

    def caps(self, grant: ProviderGrant | None = None) -> tuple[Cap, ...]:
        """Every cap a call through `grant` must fit in: customer, team, key (with the
        key's concurrency cap) and provider config, outermost first. Precomputed."""
        return self._caps[None if grant is None else grant.name]
