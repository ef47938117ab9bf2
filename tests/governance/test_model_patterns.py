"""Model allow lists: exact names, fnmatch patterns on `provider/model` and bare names,
provider configs that narrow them, and the 403 that names key and model."""

from __future__ import annotations

from typing import Any

import pytest

from govern.errors import PermissionDenied
from govern.governance.declared import declare
from govern.governance.model import Entities
from govern.governance.patterns import ModelMatcher
from govern.governance.principal import Principal
from govern.governance.registry import Registry
from govern.governance.store import Changes, apply
from govern.routing import Route
from tests.governance.entities import T0, make_config

VALUE = "vk-patterns-0123456789"


def principal(**key: Any) -> Principal:
    """The principal of one standalone key with these fields."""
    config = make_config({"virtual_keys": [{"id": "k", "value": VALUE, **key}]})
    entities = apply(Entities(), Changes(put=declare(config, T0).all()), 1)[0]
    found = Registry(entities).authenticate(VALUE)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("entry", "provider", "model", "allowed"),
    [
        ("gpt-4o-mini", "openai", "gpt-4o-mini", True),  # bare name: any provider
        ("gpt-4o-mini", "sim", "gpt-4o-mini", True),
        ("gpt-4o-mini", "openai", "gpt-4o", False),
        ("sim/gpt-4o-mini", "sim", "gpt-4o-mini", True),  # qualified: that provider only
        ("sim/gpt-4o-mini", "openai", "gpt-4o-mini", False),
        ("*", "bedrock", "anthropic.claude-3-haiku", True),
        ("openai/*", "openai", "o3", True),
        ("openai/*", "sim", "o3", False),
        ("gpt-4o*", "sim", "gpt-4o-mini", True),
        ("gpt-4o*", "openai", "gpt-4.1", False),
        ("*-mini", "openai", "gpt-4.1-mini", True),
        ("gpt-4.?-mini", "openai", "gpt-4.1-mini", True),
        ("claude-[0-9]*", "anthropic", "claude-3-5-haiku", True),
        ("claude-[0-9]*", "anthropic", "claude-sonnet-4-5", False),
        ("GPT-4o*", "openai", "gpt-4o", False),  # case-sensitive
        ("meta-llama/*", "openrouter", "meta-llama/llama-3", True),  # a bare name with `/`
    ],
)
def test_allow_list_entry(entry: str, provider: str, model: str, allowed: bool) -> None:
    assert ModelMatcher([entry]).allows(provider, model) is allowed


def test_unset_list_allows_everything_and_empty_list_nothing() -> None:
    assert ModelMatcher(None).allows("sim", "anything")
    assert not ModelMatcher([]).allows("sim", "gpt-4o-mini")


def test_a_model_matching_no_entry_is_refused_naming_key_and_model() -> None:
    p = principal(models=["gpt-4o-mini", "sim/*"])
    p.check_model(Route("sim", "claude-sonnet-4-5"))
    with pytest.raises(PermissionDenied) as info:
        p.check_model(Route("openai", "gpt-4o"))
    assert info.value.status == 403
    assert info.value.message == (
        "virtual key 'k' may not use model 'openai/gpt-4o' (allowed: gpt-4o-mini, sim/*)"
    )
    assert (info.value.code, info.value.param) == ("model_not_allowed", "model")


def test_empty_allow_list_refuses_every_model() -> None:
    with pytest.raises(PermissionDenied, match=r"\(allowed: no model\)"):
        principal(models=[]).check_model(Route("sim", "gpt-4o-mini"))


def test_provider_configs_restrict_the_providers() -> None:
    p = principal(providers=[{"provider": "sim"}])
    assert p.allows(Route("sim", "gpt-4o-mini"))
    with pytest.raises(PermissionDenied) as info:
        p.check_model(Route("openai", "gpt-4o-mini"))
    assert "may not use provider 'openai'" in info.value.message
    assert "(allowed providers: sim)" in info.value.message


def test_no_provider_configs_allow_every_provider_without_a_provider_tier() -> None:
    p = principal()
    assert p.allows(Route("openai", "gpt-4o"))
    assert not p.restricts_providers
    assert p.grants_for(Route("openai", "gpt-4o")) == ()


def test_an_empty_provider_list_allows_no_provider() -> None:
    p = principal(providers=[])
    assert p.restricts_providers
    assert not p.allows(Route("sim", "gpt-4o-mini"))


def test_provider_config_models_unset_inherit_the_key_list() -> None:
    p = principal(models=["gpt-4o-mini"], providers=[{"provider": "sim"}])
    assert p.allows(Route("sim", "gpt-4o-mini"))
    assert not p.allows(Route("sim", "claude-sonnet-4-5"))


def test_provider_config_models_narrow_and_never_widen() -> None:
    p = principal(
        models=["gpt-4o*"],
        providers=[{"provider": "sim", "models": ["gpt-4o-mini", "claude-sonnet-4-5"]}],
    )
    assert p.allows(Route("sim", "gpt-4o-mini"))
    assert not p.allows(Route("sim", "gpt-4o"))  # key allows it, its provider config does not
    assert not p.allows(Route("sim", "claude-sonnet-4-5"))  # config allows it, the key does not


def test_provider_config_with_empty_models_allows_nothing() -> None:
    p = principal(providers=[{"provider": "sim", "models": []}])
    with pytest.raises(PermissionDenied, match="its 'sim' provider config does not allow it"):
        p.check_model(Route("sim", "gpt-4o-mini"))


def test_grants_for_lists_the_configs_that_serve_a_route_in_order() -> None:
    p = principal(
        providers=[
            {"provider": "openai", "name": "batch", "keys": ["batch"], "weight": 1},
            {"provider": "sim"},
            {"provider": "openai", "name": "main", "keys": ["main"], "weight": 3, "models": ["o3"]},
        ]
    )
    assert [g.name for g in p.grants_for(Route("openai", "o3"))] == ["batch", "main"]
    assert [g.name for g in p.grants_for(Route("openai", "gpt-4o"))] == ["batch"]
    batch = p.grants_for(Route("openai", "gpt-4o"))[0]
    assert batch.allows_key("batch") and not batch.allows_key("main")


def test_allowed_models_filters_the_model_list() -> None:
    p = principal(models=["gpt-4o*"], providers=[{"provider": "sim"}])
    listed = ["sim/gpt-4o-mini", "sim/claude-sonnet-4-5", "openai/gpt-4o", "openai/gpt-4o-mini"]
    assert p.allowed_models(listed) == ["sim/gpt-4o-mini"]
