"""`Gateway`: the composition root holding config, providers, router, catalog and log."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import msgspec

from govern import pipeline
from govern.accounting import Accountant
from govern.cache import CacheUsageSource, open_cache
from govern.catalog import Catalog
from govern.config import CacheSettings, GovernConfig, default_config
from govern.governance.caps import Cap
from govern.governance.gate import Gate
from govern.governance.ledger import Ledger
from govern.governance.meters import CapUsage
from govern.governance.principal import Principal
from govern.governance.restore import restore_from_log
from govern.governance.service import Governance
from govern.logs.writer import LogWriter, open_log
from govern.metrics import Metrics
from govern.providers.base import Provider
from govern.providers.registry import create_provider
from govern.replies import ChatReply, EmbeddingReply, RequestContext, StreamReply
from govern.routing import Router
from govern.transport import Transport, make_transport
from govern.wire.openai import ChatCompletionRequest, EmbeddingRequest, Model, ModelList

_CREATED = 1_700_000_000


class Gateway:
    """The gateway without its HTTP server: usable from Python, tests and notebooks.

    `await gateway.start()` opens the request log (the first call does it too);
    `await gateway.aclose()` flushes it and closes upstream connections. Both are
    called by the server's lifespan; `async with Gateway(...)` does the same.
    """

    def __init__(
        self,
        config: GovernConfig | None = None,
        *,
        transport: Transport | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        ledger: Ledger | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config or default_config()
        self.transport = transport or make_transport(self.config.server.transport)
        self.router = Router(self.config)
        self.providers: dict[str, Provider] = {
            name: create_provider(name, provider, self.transport)
            for name, provider in self.config.providers.items()
        }
        self.data_dir = Path(
            data_dir or self.config.data_dir or os.environ.get("GOVERN_DATA_DIR") or "govern-data"
        )
        self.catalog = Catalog(self.config.pricing)
        self.metrics = Metrics()
        self.log: LogWriter | None = None
        self.governance = Governance(self.config, self.data_dir, clock=clock)
        self.admin = self.governance.admin
        """Customers, teams, virtual keys, budgets and rate limits (`govern.governance.Admin`)."""
        self.ledger = ledger or _make_ledger(self.config)
        self.gate = Gate(self.governance, self.ledger, self.config.governance, clock)
        self.governance.usage = _LedgerUsage(self.gate)
        self.accountant = Accountant(self.catalog, None, self.metrics, self.gate)
        self.cache = open_cache(self.config.cache, self.data_dir)
        """The response cache (off unless configured or asked for per request)."""
        self.governance.cache_usage = CacheUsageSource(self.cache)
        g = self.config.governance
        self.cache_settings: dict[tuple[str, str], CacheSettings] = {
            (tier, e.id): e.cache
            for tier, entities in (
                ("customer", g.customers),
                ("team", g.teams),
                ("key", g.virtual_keys),
            )
            for e in entities
            if e.cache is not None
        }
        """Per-entity cache settings declared in the config file, by (tier, id)."""
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Open the request log and start catalog refreshes (idempotent)."""
        async with self._starting:
            if self.log is None:
                log = await open_log(self.config.log, self.data_dir)
                await self.governance.start()
                await self.cache.start()
                if self.config.governance.ledger == "memory":
                    await restore_from_log(self.gate, log.store, self.gate.clock())
                self.log = log
                self.accountant.log = log
                self.catalog.start()

    def live_providers(self) -> list[str]:
        """Providers that can take calls (they have keys, or need none)."""
        return list(self.providers)

    async def chat(
        self,
        request: ChatCompletionRequest,
        extras: dict[str, msgspec.Raw] | None = None,
        ctx: RequestContext | None = None,
    ) -> ChatReply | StreamReply:
        """Run a chat completion (streaming when `request.stream`)."""
        if self.log is None:
            await self.start()
        return await pipeline.handle_chat(self, request, extras, ctx or RequestContext())

    async def embeddings(
        self, request: EmbeddingRequest, ctx: RequestContext | None = None
    ) -> EmbeddingReply:
        """Run an embeddings call."""
        if self.log is None:
            await self.start()
        return await pipeline.handle_embeddings(self, request, ctx or RequestContext())

    def models(self, principal: Principal | None = None) -> ModelList:
        """The models a caller may use, as `GET /v1/models` lists them."""
        names = self.router.all_models()
        if principal is not None:
            names = principal.allowed_models(names)
        return ModelList(
            data=[
                Model(id=name, created=_CREATED, owned_by=name.partition("/")[0]) for name in names
            ]
        )

    async def aclose(self) -> None:
        """Flush the request log, close provider clients and pooled connections."""
        if self.log is not None:
            await self.log.close()
            self.log = None
            self.accountant.log = None
        await self.governance.aclose()
        await self.cache.aclose()
        await self.ledger.close()
        self.catalog.close()
        for provider in self.providers.values():
            await provider.aclose()
        await self.transport.aclose()

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _make_ledger(config: GovernConfig) -> Ledger:
    """The ledger the config names: in-process, or Redis shared by replicas."""
    if config.governance.ledger == "redis":
        from govern.governance.redis_ledger import RedisLedger

        return RedisLedger(config.governance.redis_url or "redis://127.0.0.1:6379/0")
    from govern.governance.memory_ledger import MemoryLedger

    return MemoryLedger()


class _LedgerUsage:
    """The ledger's counters for the management API's usage views."""

    def __init__(self, gate: Gate):
        self._gate = gate

    async def usage(self, caps: Sequence[Cap], now: float) -> Mapping[str, CapUsage]:
        """Spent and reserved per cap id in the current windows."""
        counters = await self._gate.ledger.usage(self._gate.limits(tuple(caps)), now)
        return {
            cap_id: CapUsage(
                spent=u.spent, reserved=u.reserved, window_start=u.window_start, reset_at=u.reset_at
            )
            for cap_id, u in counters.items()
        }
