"""`Gateway`: the composition root holding config, providers, router, catalog and log."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import msgspec

from govern import pipeline
from govern.accounting import Accountant
from govern.catalog import Catalog
from govern.config import GovernConfig, default_config
from govern.logs.writer import LogWriter, open_log
from govern.metrics import Metrics
from govern.pipeline import ChatReply, EmbeddingReply, RequestContext, StreamReply
from govern.providers.base import Provider
from govern.providers.registry import create_provider
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
        self.accountant = Accountant(self.catalog, None, self.metrics)
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Open the request log and start catalog refreshes (idempotent)."""
        async with self._starting:
            if self.log is None:
                self.log = await open_log(self.config.log, self.data_dir)
                self.accountant.log = self.log
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

    def models(self) -> ModelList:
        """The models callers may use, as `GET /v1/models` lists them."""
        return ModelList(
            data=[
                Model(id=name, created=_CREATED, owned_by=name.partition("/")[0])
                for name in self.router.all_models()
            ]
        )

    async def aclose(self) -> None:
        """Flush the request log, close provider clients and pooled connections."""
        if self.log is not None:
            await self.log.close()
            self.log = None
            self.accountant.log = None
        self.catalog.close()
        for provider in self.providers.values():
            await provider.aclose()
        await self.transport.aclose()

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
