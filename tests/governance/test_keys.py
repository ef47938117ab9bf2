"""Key values: generation, hashing, headers; authentication: unknown, inactive, expired."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from govern.errors import AuthenticationFailed, PermissionDenied
from govern.governance.declared import declare
from govern.governance.keys import (
    generate_key,
    hash_key,
    is_key_hash,
    key_from_headers,
    key_hint,
    same_secret,
)
from govern.governance.model import Entities
from govern.governance.registry import Registry
from govern.governance.store import Changes, apply
from tests.governance.entities import ALICE, BOB, T0, Clock, governance_section, make_config


def registry(section: dict[str, Any] | None = None, **kwargs: Any) -> Registry:
    declared = declare(make_config(governance_section() if section is None else section), T0)
    return Registry(apply(Entities(), Changes(put=declared.all()), 1)[0], **kwargs)


def test_generated_keys_are_prefixed_random_and_long() -> None:
    keys = {generate_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith("gk-")
        assert len(key) == 3 + 43  # 32 bytes in URL-safe base64 without padding


def test_hash_is_sha256_hex() -> None:
    # FIPS 180-2's example: SHA-256("abc").
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_key("gk-x") == hashlib.sha256(b"gk-x").hexdigest()
    assert is_key_hash(hash_key("anything"))
    assert not is_key_hash("ba7816bf")


def test_hint_shows_only_the_prefix() -> None:
    value = generate_key()
    assert key_hint(value) == value[:7]


def test_same_secret() -> None:
    assert same_secret("admin", "admin")
    assert not same_secret("admin", "admin ")


@pytest.mark.parametrize(
    ("authorization", "x_govern_key", "expected"),
    [
        ("Bearer vk-1", None, "vk-1"),
        ("bearer   vk-1 ", None, "vk-1"),
        (None, "vk-2", "vk-2"),
        ("Bearer vk-1", "vk-2", "vk-2"),  # the gateway's own header wins
        ("Basic dXNlcjpwYXNz", None, None),
        ("Bearer ", None, None),
        (None, None, None),
    ],
)
def test_key_from_headers(
    authorization: str | None, x_govern_key: str | None, expected: str | None
) -> None:
    assert key_from_headers(authorization, x_govern_key) == expected


def test_a_known_key_resolves_to_key_team_and_customer() -> None:
    alice = registry().authenticate(ALICE)
    assert alice is not None
    assert (alice.key.id, alice.team_id, alice.customer_id) == ("alice", "eng", "acme")
    assert alice.key.key_hash == hash_key(ALICE)


def test_a_key_directly_in_a_customer_has_no_team() -> None:
    bob = registry().authenticate(BOB)
    assert bob is not None
    assert (bob.team_id, bob.customer_id) == (None, "acme")


def test_a_standalone_key_has_neither() -> None:
    solo = registry({"virtual_keys": [{"id": "solo", "value": "vk-solo"}]}).authenticate("vk-solo")
    assert solo is not None
    assert (solo.team, solo.customer) == (None, None)


def test_unknown_key_is_401() -> None:
    with pytest.raises(AuthenticationFailed) as info:
        registry().authenticate("vk-nobody")
    assert info.value.status == 401
    assert "vk-nobody" not in info.value.message


def test_missing_key_is_401_once_keys_exist() -> None:
    with pytest.raises(AuthenticationFailed, match="missing virtual key"):
        registry().authenticate(None)


def test_no_key_is_fine_while_none_exists() -> None:
    assert registry({}).authenticate(None) is None


def test_require_key_overrides_the_default() -> None:
    with pytest.raises(AuthenticationFailed):
        registry({}, require_key=True).authenticate(None)
    assert registry(require_key=False).authenticate(None) is None


def test_inactive_key_is_403_saying_so() -> None:
    section = governance_section()
    section["virtual_keys"][1]["active"] = False
    with pytest.raises(PermissionDenied) as info:
        registry(section).authenticate(BOB)
    assert info.value.status == 403
    assert (info.value.message, info.value.code) == (
        "virtual key 'bob' is inactive",
        "key_inactive",
    )


def test_expired_key_is_403_saying_when() -> None:
    section = governance_section()
    expiry = T0 + timedelta(days=1)
    section["virtual_keys"][1]["expires_at"] = expiry.isoformat()
    clock = Clock()
    keys = registry(section, clock=clock)
    assert keys.authenticate(BOB) is not None
    clock.now = expiry.timestamp() - 0.001
    assert keys.authenticate(BOB) is not None
    clock.now = expiry.timestamp()
    with pytest.raises(PermissionDenied) as info:
        keys.authenticate(BOB)
    assert info.value.message == "virtual key 'bob' expired at 2025-03-15T12:00:00Z"
    assert info.value.code == "key_expired"


def test_replace_swaps_in_new_entities_at_once() -> None:
    keys = registry(require_key=True)
    assert keys.authenticate(ALICE) is not None
    keys.replace(Entities())
    with pytest.raises(AuthenticationFailed):
        keys.authenticate(ALICE)


def test_without_any_key_the_gateway_is_open_and_ignores_placeholders() -> None:
    keys = registry()
    keys.replace(Entities())
    # clients must send some key (`api_key="unused"`): with no virtual key configured
    # and `require_key` unset, it is ignored rather than refused
    assert keys.authenticate("unused") is None
    assert keys.authenticate(None) is None
