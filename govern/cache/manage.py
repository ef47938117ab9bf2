"""`govern.cache.clear()` and `govern.cache.stats()`: the cache of the gateway this process
talks to, from a notebook or any Python process.

The gateway is the one `govern.client()` calls (`govern.notebook.current()`): the remote
one chosen with `govern.connect(url, admin_key=...)`, else the embedded one running in
this process. Both are reached through `DELETE`/`GET /api/cache` with the admin key (the
embedded gateway's is known to this process). Nothing here runs on the request path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from govern.cache.counters import CacheStats

if TYPE_CHECKING:
    import httpx

    from govern.notebook.session import Target

NO_GATEWAY = (
    "no gateway to act on: start the embedded one (`%load_ext govern` or "
    "`govern.notebook.start()`) or connect to one with `govern.connect(url, admin_key=...)`"
)


class CacheUnavailable(RuntimeError):
    """There is no gateway to act on, or it refused (no admin key, a wrong one)."""


class _Cleared(msgspec.Struct):
    removed: int


def clear(scope: str | None = None, *, timeout: float = 30.0) -> int:
    """Delete the cache's entries (of one scope: `key:<id>`, `team:<id>`, `customer:<id>`,
    `global`, `anonymous`); returns how many were deleted."""
    response = _call("DELETE", scope, timeout)
    return msgspec.json.decode(response.content, type=_Cleared).removed


def stats(scope: str | None = None, *, timeout: float = 30.0) -> CacheStats:
    """Live entries and the gateway's hit, miss and store counters since it started (of
    one scope, or of all)."""
    response = _call("GET", scope, timeout)
    return msgspec.json.decode(response.content, type=CacheStats)


def _target() -> Target:
    from govern.notebook.session import current

    chosen = current()
    if chosen is None:
        raise CacheUnavailable(NO_GATEWAY)
    return chosen


def _call(method: str, scope: str | None, timeout: float) -> httpx.Response:
    import httpx

    from govern.notebook.session import Embedded

    chosen = _target()
    url = chosen.url
    if not chosen.admin_key:
        raise CacheUnavailable(
            f"the gateway at {url} needs its admin key for /api/cache: "
            "govern.connect(url, admin_key=...)"
        )
    try:
        response = httpx.request(
            method,
            f"{url}/api/cache",
            params={"scope": scope} if scope is not None else None,
            headers={"x-govern-admin-key": chosen.admin_key},
            timeout=timeout,
        )
    except httpx.TransportError as exc:
        where = "the embedded gateway" if isinstance(chosen, Embedded) else url
        raise CacheUnavailable(f"cannot reach {where}: {exc!r}") from None
    if response.status_code >= 400:
        raise CacheUnavailable(
            f"{method} {url}/api/cache: HTTP {response.status_code}: {_message(response)}"
        )
    return response


def _message(response: httpx.Response) -> str:
    try:
        return str(msgspec.json.decode(response.content)["error"]["message"])
    except (msgspec.DecodeError, KeyError, TypeError):
        return response.text[:200]
