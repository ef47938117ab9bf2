"""Virtual key values: generation, hashing, and reading one from request headers.

A generated key is `gk-` and 43 URL-safe characters (32 random bytes). The gateway keeps
only the SHA-256 of a value (64 hex digits): a lookup hashes what a client presents and
finds it in a dict, so a presented key is never compared character by character.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PREFIX = "gk-"
HINT_LENGTH = 7
"""Characters of a value kept in the clear to recognise it (`gk-` and 4 more)."""
_HEX64 = re.compile(r"[0-9a-f]{64}")


def generate_key() -> str:
    """A new random key value (`gk-` + 32 random bytes, URL-safe base64)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(value: str) -> str:
    """The SHA-256 of a key value, as 64 lowercase hex digits."""
    return hashlib.sha256(value.encode()).hexdigest()


def key_hint(value: str) -> str:
    """The first characters of a value, safe to show (a generated key has 256 random bits)."""
    return value[:HINT_LENGTH]


def is_key_hash(text: str) -> bool:
    """Whether `text` is a SHA-256 as `hash_key` writes it."""
    return _HEX64.fullmatch(text) is not None


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time equality of two secrets (compared as their SHA-256)."""
    return hmac.compare_digest(hash_key(presented), hash_key(expected))


def key_from_headers(authorization: str | None, x_govern_key: str | None) -> str | None:
    """The key a request presents: `x-govern-key`, else `Authorization: Bearer <key>`."""
    if x_govern_key:
        return x_govern_key.strip() or None
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None
