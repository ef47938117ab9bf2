"""Where spend and request rows come from: the embedded gateway's request log (read with
`govern.logs`) or a remote gateway's `/api/spend` and `/api/logs` (with its admin key).

Both answer with the DataFrames `govern.logs.spend` and `govern.logs.requests` return.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from govern.logs.pages import LogPage, SpendPage
from govern.logs.sql import GROUP_COLUMNS, TimeArg
from govern.notebook.session import Embedded, Remote, Target

if TYPE_CHECKING:
    from decimal import Decimal

    import httpx
    import pandas as pd

    from govern.governance.api import EntityUsage
    from govern.logs.store import StoreSource

GROUP_ALIASES: dict[str, str] = {
    "customer": "customer_id",
    "team": "team_id",
    "key": "virtual_key_id",
    "model": "model_served",
    "requested": "model_requested",
    "provider_key": "key_name",
}
"""Short names `%govern spend --by` accepts for the log's group columns."""

BUDGETS_PENDING = (
    "this gateway does not serve GET /api/usage (an older or different gateway): "
    "budgets are not available from it"
)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


BUDGET_COLUMNS = (
    "entity",
    "tier",
    "cap",
    "kind",
    "limit",
    "spent",
    "reserved",
    "remaining",
    "used_share",
    "window_start",
    "resets_at",
)
"""The columns `SpendSource.budgets()` answers with, one row per budget or rate limit
(`GET /api/usage`): the owner (`team:eng`) and its tier, the cap's id and kind (`usd`,
`requests`, `tokens`, `concurrent`), the limit and the current window's spent, reserved
and remaining amounts (exact `Decimal` dollars for `usd`, else counts), the share used
(a float, for display) and the window's start and reset (NaT: never resets)."""


class BudgetsUnavailable(RuntimeError):
    """The gateway has no budget tiers to report (governance is not there yet)."""


class SpendSource(Protocol):
    """Spend and request rows of one gateway."""

    def spend(
        self, group_by: Sequence[str] = (), *, since: TimeArg = None, freq: str | None = None
    ) -> pd.DataFrame:
        """As `govern.logs.spend`."""
        ...

    def requests(self, *, limit: int = 20, since: TimeArg = None) -> pd.DataFrame:
        """The latest rows, newest first, as `govern.logs.requests`."""
        ...

    def budgets(self) -> pd.DataFrame:
        """Every budget tier: limit, spent, remaining, resets (BudgetsUnavailable if none)."""
        ...


def group_by(names: Sequence[str] | str) -> list[str]:
    """Group columns from names or aliases (`team`, `model`, ...), comma-separated or not."""
    items = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for item in items:
        for name in filter(None, (part.strip() for part in item.split(","))):
            column = GROUP_ALIASES.get(name, name)
            if column not in GROUP_COLUMNS:
                choices = ", ".join([*GROUP_ALIASES, *GROUP_COLUMNS])
                raise ValueError(f"cannot group by {name!r}; one of: {choices}")
            out.append(column)
    return out


def since(text: str | None) -> TimeArg:
    """`30m`, `12h`, `1d`, `2w` as a timedelta before now; anything else as an ISO time."""
    if text is None:
        return None
    match = _DURATION.match(text.strip())
    if match is None:
        return text
    return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2].lower()])


class ApiClient:
    """A gateway's management API (`/api/*`), read with its admin key."""

    def __init__(self, url: str, admin_key: str | None, *, timeout: float = 10.0):
        self.url = url
        self.admin_key = admin_key
        self.timeout = timeout

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET `path`; the response whatever its status."""
        import httpx

        headers = {"x-govern-admin-key": self.admin_key} if self.admin_key else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return httpx.get(f"{self.url}{path}", params=query, headers=headers, timeout=self.timeout)

    def fetch(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """GET `path`'s body; RuntimeError naming the status and the gateway's message."""
        response = self.get(path, params)
        if response.status_code == 404:
            raise RuntimeError(f"{path}: this gateway does not serve it (HTTP 404)")
        if response.status_code >= 400:
            raise RuntimeError(f"{path}: HTTP {response.status_code}: {_error(response.content)}")
        return response.content

    def budgets(self) -> pd.DataFrame:
        """`GET /api/usage` as a DataFrame of `BUDGET_COLUMNS`."""
        from govern.governance.api import EntityUsage

        response = self.get("/api/usage")
        if response.status_code in (404, 405):
            raise BudgetsUnavailable(BUDGETS_PENDING)
        if response.status_code in (401, 403):
            raise BudgetsUnavailable(
                f"budgets need the gateway's admin key ({_error(response.content)}): "
                "govern.connect(url, admin_key=...)"
            )
        if response.status_code >= 400:
            raise RuntimeError(
                f"/api/usage: HTTP {response.status_code}: {_error(response.content)}"
            )
        return usage_frame(msgspec.json.decode(response.content, type=list[EntityUsage]))


def usage_frame(items: Sequence[EntityUsage]) -> pd.DataFrame:
    """Caps with their use (as `GET /api/usage` answers) as a DataFrame of `BUDGET_COLUMNS`."""
    import pandas as pd

    rows = []
    for group in items:
        for cap in group.caps:
            used = None if cap.spent is None else cap.spent + (cap.reserved or 0)
            rows.append(
                {
                    "entity": group.entity,
                    "tier": group.entity.partition(":")[0],
                    "cap": cap.id,
                    "kind": cap.kind,
                    "limit": cap.limit,
                    "spent": cap.spent,
                    "reserved": cap.reserved,
                    "remaining": cap.remaining,
                    "used_share": None if used is None else _share(used, cap.limit),
                    "window_start": cap.window_start,
                    "resets_at": cap.resets_at,
                }
            )
    frame = pd.DataFrame(rows, columns=list(BUDGET_COLUMNS))
    frame["used_share"] = frame["used_share"].astype("Float64")
    for column in ("window_start", "resets_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _share(used: Decimal | int, limit: Decimal | int) -> float:
    return float(used) / float(limit) if limit else (0.0 if not used else float("inf"))


class LogSource:
    """A request log read directly (the embedded gateway's, or any data dir or DSN);
    budgets from the gateway's management API when `api` is given."""

    def __init__(
        self,
        source: StoreSource,
        flush: Callable[[], object] | None = None,
        api: ApiClient | None = None,
    ):
        self.source = source
        self._flush = flush
        self.api = api

    def _fresh(self) -> None:
        if self._flush is not None:
            self._flush()

    def spend(
        self, group_by: Sequence[str] = (), *, since: TimeArg = None, freq: str | None = None
    ) -> pd.DataFrame:
        """As `govern.logs.spend` (the embedded log flushed first)."""
        from govern.logs import spend

        self._fresh()
        return spend(self.source, group_by, since=since, freq=freq)

    def requests(self, *, limit: int = 20, since: TimeArg = None) -> pd.DataFrame:
        """The latest rows, newest first."""
        from govern.logs import requests

        self._fresh()
        return requests(self.source, since=since, limit=limit, newest_first=True)

    def budgets(self) -> pd.DataFrame:
        """Every budget and rate limit with its use (from the gateway's `/api/usage`)."""
        if self.api is None:
            raise BudgetsUnavailable("budgets: a request log alone does not know its budgets")
        return self.api.budgets()


class RemoteSource:
    """A remote gateway's `/api/spend`, `/api/logs` and `/api/usage` (with its admin key)."""

    def __init__(self, remote: Remote, *, timeout: float = 10.0):
        self.remote = remote
        self.api = ApiClient(remote.url, remote.admin_key, timeout=timeout)

    def spend(
        self, group_by: Sequence[str] = (), *, since: TimeArg = None, freq: str | None = None
    ) -> pd.DataFrame:
        """`GET /api/spend`, every page, as `govern.logs.spend` returns it."""
        import pandas as pd

        params = {"group_by": ",".join(group_by) or None, "since": _iso(since), "freq": freq}
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = msgspec.json.decode(
                self.api.fetch("/api/spend", {**params, "cursor": cursor}), type=SpendPage
            )
            for item in page.items:
                row: dict[str, Any] = dict(item.group)
                if freq is not None:
                    row["period"] = item.period
                data = msgspec.structs.asdict(item)
                for name in ("group", "period", "cost_usd"):
                    data.pop(name)
                row["cost_usd"] = None if item.cost_usd is None else float(item.cost_usd)
                data["saved_usd"] = None if item.saved_usd is None else float(item.saved_usd)
                rows.append({**row, **data})
            cursor = page.next_cursor
            if cursor is None:
                break
        frame = pd.DataFrame(rows)
        for name in frame.columns:
            if name.endswith("_nanos"):
                frame[name] = frame[name].astype("Int64")
        return frame

    def requests(self, *, limit: int = 20, since: TimeArg = None) -> pd.DataFrame:
        """`GET /api/logs`, the newest `limit` rows."""
        import pandas as pd

        raw = self.api.fetch("/api/logs", {"limit": limit, "since": _iso(since)})
        page = msgspec.json.decode(raw, type=LogPage)
        frame = pd.DataFrame([msgspec.structs.asdict(item) for item in page.items])
        if "ts" in frame.columns:
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame

    def budgets(self) -> pd.DataFrame:
        """Every budget and rate limit with its use (`GET /api/usage`)."""
        return self.api.budgets()


def _iso(value: TimeArg) -> str | None:
    from govern.logs.sql import instant

    moment = instant(value, "since")
    return None if moment is None else moment.isoformat()


def _error(body: bytes) -> str:
    try:
        decoded = msgspec.json.decode(body)
        return str(decoded["error"]["message"])
    except (msgspec.DecodeError, KeyError, TypeError):
        return body[:200].decode(errors="replace")


def source_for(chosen: Target) -> SpendSource:
    """The spend source of a gateway: its log if embedded, its `/api/` if remote."""
    if isinstance(chosen, Embedded):
        api = ApiClient(chosen.url, chosen.admin_key)
        return LogSource(chosen.log_source(), flush=chosen.flush, api=api)
    return RemoteSource(chosen)
