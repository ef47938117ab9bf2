"""`Registry`: presented key -> `Principal`, one dict lookup on the key's SHA-256.

The registry holds the principals of one store revision; `replace` swaps in a new
revision at once (an attribute assignment), so requests never see half an edit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from govern.errors import AuthenticationFailed, PermissionDenied
from govern.governance.keys import hash_key
from govern.governance.model import Entities
from govern.governance.principal import Principal

MISSING_KEY = "missing virtual key: send `Authorization: Bearer <key>` or `x-govern-key: <key>`"


class _Snapshot:
    __slots__ = ("by_hash", "by_id", "entities")

    def __init__(self, entities: Entities):
        self.entities = entities
        self.by_id = {k.id: Principal.build(k, entities) for k in entities.keys.values()}
        self.by_hash = {p.key.key_hash: p for p in self.by_id.values()}


class Registry:
    """The principals of the current entities, looked up by a presented key."""

    def __init__(
        self,
        entities: Entities | None = None,
        *,
        require_key: bool | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self._snapshot = _Snapshot(entities or Entities())
        self.require_key = require_key
        self._clock = clock

    @property
    def entities(self) -> Entities:
        """The entities the registry currently serves."""
        return self._snapshot.entities

    def replace(self, entities: Entities) -> None:
        """Serve `entities` from now on (built first, then swapped in at once)."""
        self._snapshot = _Snapshot(entities)

    @property
    def key_required(self) -> bool:
        """Whether a call without a key is refused (`require_key`, else: any key exists)."""
        if self.require_key is not None:
            return self.require_key
        return bool(self._snapshot.by_hash)

    def authenticate(self, presented: str | None, now: float | None = None) -> Principal | None:
        """The principal of a presented key; None for no key where none is required, or
        for any key while no virtual key exists (unless `require_key` is true).

        Raises AuthenticationFailed (401) for a missing or unknown key and
        PermissionDenied (403) for an inactive or expired one.
        """
        if presented is None or (not self._snapshot.by_hash and not self.require_key):
            # No virtual keys at all (and none required): the gateway is open, and the
            # placeholder keys clients must send (`api_key="unused"`) are ignored.
            if presented is None and self.key_required:
                raise AuthenticationFailed(MISSING_KEY, code="missing_key")
            return None
        principal = self._snapshot.by_hash.get(hash_key(presented))
        if principal is None:
            raise AuthenticationFailed("unknown virtual key", code="invalid_key")
        check_usable(principal, self._clock() if now is None else now)
        return principal

    def principals(self) -> Iterable[Principal]:
        """Every key's principal."""
        return self._snapshot.by_id.values()

    def principal(self, key_id: str) -> Principal | None:
        """The principal of key `key_id`, if it exists (no activity check)."""
        return self._snapshot.by_id.get(key_id)


def check_usable(principal: Principal, now: float) -> None:
    """Raise PermissionDenied (403) if the key is inactive or expired at `now`."""
    key = principal.key
    if not key.active:
        raise PermissionDenied(f"virtual key {key.id!r} is inactive", code="key_inactive")
    if key.expires_at is not None and key.expires_at.timestamp() <= now:
        when = key.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        raise PermissionDenied(f"virtual key {key.id!r} expired at {when}", code="key_expired")


def utcnow(clock: Callable[[], float]) -> datetime:
    """The clock's time as an aware UTC datetime."""
    return datetime.fromtimestamp(clock(), UTC)
