"""The governance config section and the entity model: validation naming the field,
default ids, and inherit / unlimited / zero kept apart."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from govern.config import ConfigError
from govern.governance.caps import budget_cap, rate_limit_caps
from govern.governance.declared import declare
from govern.governance.keys import hash_key
from govern.governance.model import Entities, EntityRef
from govern.governance.registry import Registry
from govern.governance.store import Changes, apply
from tests.governance.entities import ALICE, T0, governance_section, make_config


def section_with(path: list[Any], value: Any) -> dict[str, Any]:
    """The test section with one value set at `path` (keys and list indexes)."""
    section = copy.deepcopy(governance_section())
    target: Any = section
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return section


def error_of(section: dict[str, Any], **extra: Any) -> str:
    with pytest.raises(ConfigError) as info:
        make_config(section, **extra)
    return str(info.value)


def entities_of(section: dict[str, Any]) -> Entities:
    declared = declare(make_config(section), T0)
    return apply(Entities(), Changes(put=declared.all()), 1)[0]


def test_unknown_customer_of_a_team_names_the_field() -> None:
    section = governance_section()
    section["teams"] += [{"id": "ops"}, {"id": "sales", "customer": "globex"}]
    assert "governance.teams[2].customer: unknown customer 'globex'" in error_of(section)


def test_a_key_in_a_team_and_a_customer_is_refused() -> None:
    message = error_of(section_with(["virtual_keys", 0, "customer"], "acme"))
    assert message.startswith("governance.virtual_keys[0].customer: set `team` or `customer`")


def test_key_value_from_the_environment_is_kept_only_as_its_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALICE_KEY", "vk-from-env")
    config = make_config(section_with(["virtual_keys", 0, "value"], "env.ALICE_KEY"))
    key = config.governance.virtual_keys[0]
    assert key.value is None
    assert key.hash == hash_key("vk-from-env")
    assert "vk-from-env" not in repr(config)


def test_missing_environment_variable_names_the_field() -> None:
    message = error_of(section_with(["virtual_keys", 1, "value"], "env.NO_SUCH_VAR_XYZ"))
    assert message == (
        "governance.virtual_keys[1].value: environment variable NO_SUCH_VAR_XYZ is not set"
    )


def test_a_key_hash_may_stand_for_the_value() -> None:
    digest = hash_key("vk-only-the-hash-is-in-the-file")
    section = governance_section()
    section["virtual_keys"][1] = {"id": "bob", "hash": digest.upper()}
    config = make_config(section)
    assert config.governance.virtual_keys[1].hash == digest


def test_a_key_without_value_or_hash_is_refused() -> None:
    section = governance_section()
    section["virtual_keys"][1] = {"id": "bob"}
    assert "governance.virtual_keys[1].value: set `value`" in error_of(section)


def test_a_malformed_hash_is_refused() -> None:
    section = governance_section()
    section["virtual_keys"][1] = {"id": "bob", "hash": "abc"}
    assert error_of(section).startswith("governance.virtual_keys[1].hash: expected a SHA-256")


def test_two_keys_with_one_value_are_refused() -> None:
    message = error_of(section_with(["virtual_keys", 1, "value"], ALICE))
    assert message == "governance.virtual_keys[1].value: the same key as virtual_keys[0]"


def test_negative_budget_names_the_field() -> None:
    message = error_of(section_with(["customers", 0, "budgets", 0, "max_usd"], "-1"))
    assert message.startswith("governance.customers[0].budgets[0].max_usd: must be")


def test_budget_finer_than_a_nano_dollar_is_refused() -> None:
    path = ["virtual_keys", 0, "providers", 0, "budgets", 0, "max_usd"]
    message = error_of(section_with(path, "0.0000000001"))
    assert message.startswith("governance.virtual_keys[0].providers[0].budgets[0].max_usd:")
    assert "nano-dollar" in message


def test_a_rate_limit_must_count_something() -> None:
    message = error_of(section_with(["teams", 0, "rate_limits", 0], {"reset": "1h"}))
    assert message == "governance.teams[0].rate_limits[0]: set `requests` and/or `tokens`"


def test_two_budgets_with_the_same_default_id_ask_for_an_id() -> None:
    budgets = [{"max_usd": "1", "reset": "1d"}, {"max_usd": "2", "reset": "1d"}]
    message = error_of(section_with(["virtual_keys", 0, "budgets"], budgets))
    assert message.startswith("governance.virtual_keys[0].budgets[1].id: id 'key:alice:budget:1d'")
    assert "give one of them another `id`" in message


def test_explicit_ids_let_one_entity_hold_two_budgets_of_a_period() -> None:
    budgets = [{"max_usd": "1", "reset": "1d"}, {"max_usd": "2", "reset": "1d", "id": "alice-2"}]
    entities = entities_of(section_with(["virtual_keys", 0, "budgets"], budgets))
    assert sorted(b.id for b in entities.budgets_of(EntityRef("key", "alice"))) == [
        "alice-2",
        "key:alice:budget:1d",
    ]


def test_unknown_provider_of_a_provider_config() -> None:
    message = error_of(section_with(["virtual_keys", 0, "providers", 1, "provider"], "azure"))
    assert message == (
        "governance.virtual_keys[0].providers[1].provider: unknown provider 'azure' "
        "(configured: sim, openai)"
    )


def test_unknown_provider_key_of_a_provider_config() -> None:
    message = error_of(section_with(["virtual_keys", 0, "providers", 1, "keys"], ["main", "x"]))
    assert message == (
        "governance.virtual_keys[0].providers[1].keys[1]: provider 'openai' has no key 'x' "
        "(its keys: main, batch)"
    )


def test_expiry_needs_a_time_zone() -> None:
    message = error_of(section_with(["virtual_keys", 1, "expires_at"], "2026-01-01T00:00:00"))
    assert "virtual_keys[1].expires_at" in message


def test_bad_ids_are_refused() -> None:
    message = error_of(section_with(["teams", 0, "id"], "eng:platform"))
    assert message.startswith("governance.teams[0].id: 'eng:platform' is not a valid id")


def test_admin_key_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERN_ADMIN_KEY", "from-env")
    section = governance_section()
    del section["admin_key"]
    assert make_config(section).governance.admin_key == "from-env"


def test_redis_ledger_needs_a_url() -> None:
    section = governance_section(ledger="redis")
    assert error_of(section) == "governance.redis_url: required when governance.ledger is redis"


def test_default_ids_name_owner_and_period() -> None:
    entities = entities_of(governance_section())
    assert sorted(entities.budgets) == [
        "customer:acme:budget:1M",
        "key:alice:budget:1d",
        "provider:alice:sim:budget:1d",
    ]
    assert sorted(entities.rate_limits) == ["key:alice:rate:1m", "team:eng:rate:1m"]


def test_rolling_windows_get_their_own_default_id() -> None:
    budgets = [
        {"max_usd": "1", "reset": "1d"},
        {"max_usd": "1", "reset": "1d", "window": "rolling"},
    ]
    entities = entities_of(section_with(["virtual_keys", 0, "budgets"], budgets))
    assert "key:alice:budget:1d-rolling" in entities.budgets


def test_entity_refs_parse_and_print() -> None:
    assert EntityRef.parse("provider:alice:sim") == EntityRef("provider", "alice:sim")
    assert str(EntityRef.grant("alice", "sim")) == "provider:alice:sim"
    for bad in ("alice", "user:x", "team:", "provider:alice", "key:a:b"):
        with pytest.raises(ValueError):
            EntityRef.parse(bad)


def test_budget_cap_counts_nano_dollars_from_creation() -> None:
    entities = entities_of(governance_section())
    cap = budget_cap(entities.budgets["key:alice:budget:1d"])
    assert cap.kind == "usd"
    assert cap.amount == 20_000_000_000  # $20 = 20 * 10^9 nano-dollars
    assert (cap.period, cap.alignment, cap.mode) == ("1d", "calendar", "reserve")
    assert cap.anchor == T0.timestamp()


def test_rate_limit_makes_a_cap_per_counted_quantity() -> None:
    entities = entities_of(governance_section())
    caps = rate_limit_caps(entities.rate_limits["key:alice:rate:1m"])
    assert [(c.id, c.kind, c.amount) for c in caps] == [
        ("key:alice:rate:1m:requests", "requests", 60),
        ("key:alice:rate:1m:tokens", "tokens", 100_000),
    ]


def test_zero_budget_is_a_cap_of_nothing() -> None:
    entities = entities_of(section_with(["virtual_keys", 0, "budgets", 0, "max_usd"], "0"))
    assert budget_cap(entities.budgets["key:alice:budget:1d"]).amount == 0


def test_no_budget_is_unlimited_at_that_tier_but_the_tiers_above_apply() -> None:
    entities = entities_of(governance_section())
    bob = Registry(entities).authenticate("vk-bob-0123456789")
    assert bob is not None
    # Bob has no limits of his own: only his customer's $500 a month applies.
    assert [c.id for c in bob.caps()] == ["customer:acme:budget:1M"]


def test_caps_of_every_tier_outermost_first() -> None:
    alice = Registry(entities_of(governance_section())).authenticate(ALICE)
    assert alice is not None
    sim = alice.key.grants[0]
    assert [c.id for c in alice.caps(sim)] == [
        "customer:acme:budget:1M",
        "team:eng:rate:1m:requests",
        "key:alice:budget:1d",
        "key:alice:rate:1m:requests",
        "key:alice:rate:1m:tokens",
        "key:alice:concurrent",
        "provider:alice:sim:budget:1d",
    ]
    assert [s.tier for s in alice.scopes(sim)] == ["customer", "team", "key", "provider"]


def test_unset_zero_and_set_concurrency() -> None:
    section = governance_section()
    section["virtual_keys"][1]["max_concurrent"] = 0
    entities = entities_of(section)
    assert entities.keys["bob"].max_concurrent == 0
    bob = Registry(entities).authenticate("vk-bob-0123456789")
    assert bob is not None
    assert [(c.kind, c.amount) for c in bob.caps() if c.tier == "key"] == [("concurrent", 0)]
    assert entities_of(governance_section()).keys["bob"].max_concurrent is None


def test_budget_amounts_stay_exact() -> None:
    section = section_with(["customers", 0, "budgets", 0, "max_usd"], "0.123456789")
    budget = entities_of(section).budgets["customer:acme:budget:1M"]
    assert budget.max_usd == Decimal("0.123456789")
    assert budget_cap(budget).amount == 123_456_789


def test_the_admin_key_stays_out_of_the_config_repr() -> None:
    config = make_config()
    assert config.governance.admin_key is not None
    assert config.governance.admin_key not in repr(config)
