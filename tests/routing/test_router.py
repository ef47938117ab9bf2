"""Model names to routes, and weighted key choice."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from govern.config import config_from_dict
from govern.errors import ModelNotFound
from govern.routing import Route, Router

CONFIG = config_from_dict(
    {
        "providers": {
            "openai": {
                "models": ["gpt-4o"],
                "keys": [
                    {"name": "heavy", "value": "sk-1", "weight": 3},
                    {"name": "light", "value": "sk-2", "weight": 1},
                    {"name": "mini-only", "value": "sk-3", "models": ["gpt-4o-mini"]},
                    {"name": "off", "value": "sk-4", "weight": 0},
                ],
            },
            "groq": {"kind": "openai", "base_url": "http://x/v1", "models": ["llama-3", "gpt-4o"]},
            "bedrock": {"keys": [{"name": "aws"}]},
            "sim": {"models": ["sim-1"]},
        }
    }
)


def test_prefixed_names_split_at_the_first_slash() -> None:
    router = Router(CONFIG)
    assert router.resolve("openai/gpt-4o") == Route("openai", "gpt-4o")
    assert router.resolve("groq/meta-llama/llama-4") == Route("groq", "meta-llama/llama-4")
    assert router.resolve("bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0") == Route(
        "bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
    )


def test_bare_names_resolve_to_the_first_provider_listing_them() -> None:
    router = Router(CONFIG)
    assert router.resolve("gpt-4o") == Route("openai", "gpt-4o")
    assert router.resolve("gpt-4o-mini") == Route("openai", "gpt-4o-mini")  # from a key
    assert router.resolve("llama-3") == Route("groq", "llama-3")


def test_unknown_names_list_what_exists() -> None:
    with pytest.raises(ModelNotFound) as info:
        Router(CONFIG).resolve("claude-9")
    assert "openai/gpt-4o" in info.value.message and "sim/sim-1" in info.value.message
    with pytest.raises(ModelNotFound, match="no model"):
        Router(CONFIG).resolve("openai/")


def test_weights_decide_the_share_of_traffic() -> None:
    router = Router(CONFIG, rng=random.Random(7))
    picks = Counter(router.pick_key(Route("openai", "gpt-4o")).name for _ in range(4000))
    # weights 3:1 among the two keys serving gpt-4o; the zero-weight key never
    assert set(picks) == {"heavy", "light"}
    assert 0.72 < picks["heavy"] / 4000 < 0.78


def test_key_model_lists_restrict_keys() -> None:
    router = Router(CONFIG, rng=random.Random(1))
    picks = {router.pick_key(Route("openai", "gpt-4o-mini")).name for _ in range(50)}
    assert picks == {"heavy", "light", "mini-only"}


def test_avoid_picks_another_key_when_there_is_one() -> None:
    router = Router(CONFIG, rng=random.Random(3))
    route = Route("openai", "gpt-4o")
    heavy = next(k for k in CONFIG.providers["openai"].keys if k.name == "heavy")
    assert all(router.pick_key(route, avoid=heavy).name == "light" for _ in range(50))


def test_keyless_providers_get_the_anonymous_key() -> None:
    assert Router(CONFIG).pick_key(Route("sim", "sim-1")).name == "anonymous"


def test_no_key_for_the_model_is_404() -> None:
    config = config_from_dict(
        {"providers": {"openai": {"keys": [{"value": "sk", "models": ["gpt-4o"]}]}}}
    )
    with pytest.raises(ModelNotFound, match="no key"):
        Router(config).pick_key(Route("openai", "o3"))
