"""Per-request headers, per-tier settings and scopes."""

from __future__ import annotations

import pytest

from govern.cache.policy import parse_cache_headers, resolve_policy, scope_id
from govern.config import CacheConfig, CacheSettings
from govern.errors import InvalidRequest


def test_no_headers_ask_for_nothing() -> None:
    options = parse_cache_headers({})
    assert (options.mode, options.ttl_seconds, options.threshold, options.no_store) == (
        None,
        None,
        None,
        False,
    )


def test_every_header_is_read() -> None:
    options = parse_cache_headers(
        {
            "x-govern-cache": "Semantic",
            "x-govern-cache-ttl": "600",
            "x-govern-cache-threshold": "0.95",
            "x-govern-cache-no-store": "",
        }
    )
    assert (options.mode, options.ttl_seconds, options.threshold, options.no_store) == (
        "semantic",
        600,
        0.95,
        True,
    )


def test_no_store_false_is_false() -> None:
    assert parse_cache_headers({"x-govern-cache-no-store": "false"}).no_store is False


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-govern-cache", "always"),
        ("x-govern-cache-ttl", "-5"),
        ("x-govern-cache-ttl", "1.5"),
        ("x-govern-cache-ttl", "0"),
        ("x-govern-cache-ttl", "999999999"),
        ("x-govern-cache-threshold", "1.2"),
        ("x-govern-cache-threshold", "nan"),
        ("x-govern-cache-threshold", "high"),
        ("x-govern-cache-no-store", "maybe"),
    ],
)
def test_an_invalid_header_is_a_400_naming_it(header: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_cache_headers({header: value})
    assert err.value.param == header
    assert header in err.value.message and err.value.status == 400


def test_the_cache_is_off_by_default() -> None:
    assert not resolve_policy(CacheConfig()).enabled


def test_the_most_specific_tier_wins() -> None:
    policy = resolve_policy(
        CacheConfig(mode="exact", ttl_seconds=100, threshold=0.9),
        customer=CacheSettings(mode="semantic", ttl_seconds=200, scope="customer"),
        team=CacheSettings(ttl_seconds=300),
        key=CacheSettings(threshold=0.97),
    )
    assert (policy.mode, policy.ttl_seconds, policy.threshold, policy.scope) == (
        "semantic",
        300,
        0.97,
        "customer",
    )


def test_request_headers_override_the_tiers_but_not_the_scope() -> None:
    policy = resolve_policy(
        CacheConfig(),
        key=CacheSettings(mode="off", scope="team"),
        request=parse_cache_headers({"x-govern-cache": "exact", "x-govern-cache-ttl": "60"}),
    )
    assert (policy.mode, policy.ttl_seconds, policy.scope) == ("exact", 60, "team")


def test_a_request_can_turn_the_cache_off() -> None:
    policy = resolve_policy(
        CacheConfig(mode="semantic"), request=parse_cache_headers({"x-govern-cache": "off"})
    )
    assert not policy.enabled


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("key", "key:vk1"),
        ("team", "team:t1"),
        ("customer", "customer:c1"),
        ("global", "global"),
    ],
)
def test_scope_ids(scope: str, expected: str) -> None:
    assert scope_id(scope, key_id="vk1", team_id="t1", customer_id="c1") == expected  # type: ignore[arg-type]


def test_a_wider_scope_than_the_caller_has_narrows_to_its_key() -> None:
    assert scope_id("team", key_id="vk1") == "key:vk1"
    assert scope_id("customer", key_id="vk1", team_id="t1") == "team:t1"


def test_a_request_without_key_uses_the_anonymous_scope() -> None:
    assert scope_id("key", key_id=None) == "anonymous"
