"""`Governance`: the entity store, the registry that authenticates keys, and `admin`.

governance = Governance(config, data_dir)
await governance.start()                      # open the store, seed, load
principal = governance.authenticate(value)    # hot path: a dict hit
await governance.admin.create_key(team="eng") # edits apply here at once
await governance.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from govern.config import GovernConfig
from govern.errors import ConfigError, GovernError
from govern.governance.admin import Admin
from govern.governance.build import FieldError
from govern.governance.database import Database, open_database
from govern.governance.declared import declare
from govern.governance.meters import CacheSource, UsageSource
from govern.governance.model import Entities
from govern.governance.principal import Principal
from govern.governance.registry import Registry, utcnow
from govern.governance.store import EntityStore, IntegrityProblem

log = logging.getLogger("govern.governance")


class NotStarted(GovernError):
    """A key was presented before the entities were loaded."""

    status = 503
    type = "service_unavailable"


class Governance:
    """Entities from the config file and the store, served to the request path."""

    def __init__(
        self,
        config: GovernConfig,
        data_dir: str | os.PathLike[str],
        *,
        usage: UsageSource | None = None,
        clock: Callable[[], float] = time.time,
        database: Callable[[], Database] | None = None,
    ):
        self.config = config
        self.data_dir = Path(data_dir)
        self.usage = usage
        """The ledger's counters for `GET /api/usage`; set by the gateway when it has one."""
        self.cache_usage: CacheSource | None = None
        """The response cache's statistics per entity for `GET /api/usage`; set by the
        gateway."""
        self.clock = clock
        self.registry = Registry(require_key=config.governance.require_key, clock=clock)
        self.admin = Admin(self)
        self._open_database = database or (lambda: open_database(config, self.data_dir))
        self._store: EntityStore | None = None
        self._starting = asyncio.Lock()
        self._refresher: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        """Whether the entities are loaded."""
        return self._store is not None

    @property
    def entities(self) -> Entities:
        """The entities currently served."""
        return self.registry.entities

    async def start(self) -> None:
        """Open the store, apply the config file's declarations, load (idempotent)."""
        async with self._starting:
            if self._store is not None:
                return
            store = EntityStore(await asyncio.to_thread(self._open_database))
            try:
                now = utcnow(self.clock)
                declared = declare(self.config, now)
                entities = await asyncio.to_thread(store.seed, declared, now)
            except FieldError as exc:  # a config built without `validate`
                store.close()
                raise ConfigError(f"governance.{exc.path}: {exc.message}") from None
            except IntegrityProblem as exc:
                store.close()
                raise ConfigError(f"governance: the config file cannot be applied: {exc}") from None
            except BaseException:
                store.close()
                raise
            self.registry.replace(entities)
            self._store = store
            interval = self.config.governance.refresh_seconds
            if interval > 0:
                self._refresher = asyncio.create_task(self._refresh_every(interval))

    async def store(self) -> EntityStore:
        """The open store (started on first use)."""
        if self._store is None:
            await self.start()
        assert self._store is not None
        return self._store

    def authenticate(self, presented: str | None, now: float | None = None) -> Principal | None:
        """The principal of a presented key (see `Registry.authenticate`)."""
        if self._store is None:
            raise NotStarted("the gateway is starting: governance entities are not loaded yet")
        return self.registry.authenticate(presented, now)

    async def refresh(self) -> bool:
        """Reload the entities if another process edited them; True if it did."""
        store = await self.store()
        revision = await asyncio.to_thread(store.revision)
        if revision == self.registry.entities.revision:
            return False
        entities = await asyncio.to_thread(store.load)
        # An edit made here meanwhile may have swapped in a newer revision: keep it.
        if entities.revision <= self.registry.entities.revision:
            return False
        self.registry.replace(entities)
        return True

    async def _refresh_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:  # keep serving the last entities; the next round retries
                log.warning("could not refresh governance entities", exc_info=True)

    async def aclose(self) -> None:
        """Stop refreshing and close the store."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self._store is not None:
            self._store.close()
            self._store = None
