"""The simulated OpenAI upstream: Chat Completions (streaming too), embeddings, models,
and Azure OpenAI's deployment routes.

Answers come from the sim engine through the `sim` provider's helpers, so the upstream
and the in-process provider agree word for word. The request handlers and key checks live
here; what they send (errors, bodies, stream events, faults) is in
`govern.sim.openai_answers`.
"""

from __future__ import annotations

import base64
import struct
from typing import TYPE_CHECKING

from aiohttp import web

from govern.config import SIM_MODELS
from govern.providers.sim import embedding_inputs
from govern.sim import engine
from govern.sim.openai_answers import (
    answer_body,
    azure_error,
    encode,
    openai_error,
    openai_usage,
    problem_response,
    send_stream,
    send_whole,
    stream_events,
)
from govern.sim.openai_checks import (
    ChatRequest,
    EmbeddingsRequest,
    RequestProblem,
    decode_chat,
    decode_embeddings,
)
from govern.wire.openai import (
    Embedding,
    EmbeddingResponse,
    EmbeddingUsage,
    Model,
    ModelList,
)

if TYPE_CHECKING:
    from govern.sim.server import SimUpstream

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "add_routes",
    "azure_error",
    "openai_error",
    "openai_usage",
    "stream_events",
]

EMBEDDING_DIMENSIONS = 64
"""Vector size when the request sets no `dimensions` (as the in-process sim provider)."""

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
    "(with blank username) if you're accessing the API from your browser and are prompted for "
    "a username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_AZURE_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API endpoint "
    "for your resource."
)


def _mask(key: str) -> str:
    if len(key) <= 10:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _bearer(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    if value[:7].lower() != "bearer ":
        return None
    return value[7:].strip() or None


# --- handlers ----------------------------------------------------------------------------


class _Routes:
    """The handlers, bound to one simulated upstream."""

    def __init__(self, sim: SimUpstream):
        self.sim = sim
        created = 1_715_367_049
        models = [Model(id=m, created=created, owned_by="system") for m in SIM_MODELS]
        models.append(Model(id="text-embedding-3-small", created=created, owned_by="system"))
        self.models_body = encode(ModelList(data=models))

    def _key_refused(self, key: str | None) -> web.Response | None:
        if key is None:
            return openai_error(401, _NO_KEY, code=None)
        accepted = self.sim.settings.api_keys
        if accepted is not None and key not in accepted:
            return openai_error(
                401,
                f"Incorrect API key provided: {_mask(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
            )
        return None

    def _azure_refused(self, request: web.Request, key: str | None) -> web.Response | None:
        if not request.query.get("api-version"):
            return azure_error(404, "Resource not found")
        accepted = self.sim.settings.api_keys
        if not key or (accepted is not None and key not in accepted):
            return azure_error(401, _AZURE_DENIED)
        return None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/chat/completions`."""
        return await self._chat(request, _bearer(request), None)

    async def azure_chat(self, request: web.Request) -> web.StreamResponse:
        """`POST /openai/deployments/{deployment}/chat/completions?api-version=...`."""
        return await self._chat(
            request, request.headers.get("api-key"), request.match_info["deployment"]
        )

    async def _chat(
        self, request: web.Request, key: str | None, deployment: str | None
    ) -> web.StreamResponse:
        body = await request.read()
        problem: RequestProblem | None = None
        parsed: ChatRequest | None = None
        try:
            parsed = decode_chat(body)
        except RequestProblem as exc:
            problem = exc
        model = deployment or (parsed.model if parsed is not None else None)
        early, fault = await self.sim.before_answer(
            request,
            "openai",
            model,
            key,
            body,
            azure_error if deployment else openai_error,
        )
        if early is not None:
            return early
        refused = self._azure_refused(request, key) if deployment else self._key_refused(key)
        if refused is not None:
            return refused
        if parsed is None:
            assert problem is not None
            return problem_response(problem)
        answer_model = deployment or parsed.model
        if parsed.stream:
            events = stream_events(self.sim, parsed, answer_model, azure=deployment is not None)
            return await send_stream(request, self.sim, events, fault)
        return await send_whole(request, answer_body(self.sim, parsed, answer_model), fault)

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/embeddings`."""
        return await self._embeddings(request, _bearer(request), None)

    async def azure_embeddings(self, request: web.Request) -> web.StreamResponse:
        """`POST /openai/deployments/{deployment}/embeddings?api-version=...`."""
        return await self._embeddings(
            request, request.headers.get("api-key"), request.match_info["deployment"]
        )

    async def _embeddings(
        self, request: web.Request, key: str | None, deployment: str | None
    ) -> web.StreamResponse:
        body = await request.read()
        problem: RequestProblem | None = None
        parsed: EmbeddingsRequest | None = None
        try:
            parsed = decode_embeddings(body)
        except RequestProblem as exc:
            problem = exc
        early, fault = await self.sim.before_answer(
            request,
            "openai",
            deployment or (parsed.model if parsed else None),
            key,
            body,
            azure_error if deployment else openai_error,
        )
        if early is not None:
            return early
        refused = self._azure_refused(request, key) if deployment else self._key_refused(key)
        if refused is not None:
            return refused
        if parsed is None:
            assert problem is not None
            return problem_response(problem)
        texts = embedding_inputs(parsed.input)
        dimensions = parsed.dimensions or EMBEDDING_DIMENSIONS
        as_base64 = parsed.encoding_format == "base64"
        data: list[Embedding] = []
        for i, text in enumerate(texts):
            vector = engine.embedding(text, dimensions)
            data.append(Embedding(index=i, embedding=_base64(vector) if as_base64 else vector))
        tokens = sum(engine.count_tokens(t) for t in texts)
        answer = EmbeddingResponse(
            data=data,
            model=deployment or parsed.model,
            usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
        )
        return await send_whole(request, encode(answer), fault)

    async def models(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/models`."""
        key = _bearer(request)
        early, _ = await self.sim.before_answer(request, "openai", None, key, b"", openai_error)
        if early is not None:
            return early
        return self._key_refused(key) or web.Response(
            body=self.models_body, content_type="application/json"
        )

    async def azure_models(self, request: web.Request) -> web.StreamResponse:
        """`GET /openai/models?api-version=...`."""
        key = request.headers.get("api-key")
        early, _ = await self.sim.before_answer(request, "openai", None, key, b"", azure_error)
        if early is not None:
            return early
        return self._azure_refused(request, key) or web.Response(
            body=self.models_body, content_type="application/json"
        )


def _base64(vector: list[float]) -> str:
    """A vector as OpenAI's `base64` encoding: little-endian float32."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def add_routes(app: web.Application, sim: SimUpstream) -> None:
    """Register the OpenAI and Azure OpenAI routes on the simulated upstream."""
    routes = _Routes(sim)
    app.router.add_post("/v1/chat/completions", routes.chat)
    app.router.add_post("/v1/embeddings", routes.embeddings)
    app.router.add_get("/v1/models", routes.models)
    app.router.add_post("/openai/deployments/{deployment}/chat/completions", routes.azure_chat)
    app.router.add_post("/openai/deployments/{deployment}/embeddings", routes.azure_embeddings)
    app.router.add_get("/openai/models", routes.azure_models)
