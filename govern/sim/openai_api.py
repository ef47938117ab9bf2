"""The simulated OpenAI upstream: Chat Completions (streaming too), embeddings, models,
and Azure OpenAI's deployment routes.

Answers come from the sim engine through the `sim` provider's helpers, so the upstream
and the in-process provider agree word for word. Streams follow OpenAI exactly: every
chunk carries `"usage": null` and a final usage chunk with `"choices": []` comes only when
`stream_options.include_usage` asks for it; Azure streams open with its
`prompt_filter_results` event. This is the benchmark's upstream, so a stream without
pacing or faults is written as one body.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from govern.config import SIM_MODELS
from govern.providers.sim import completion, embedding_inputs, stream_chunks
from govern.sim import engine
from govern.sim.openai_checks import (
    ChatRequest,
    EmbeddingsRequest,
    RequestProblem,
    decode_chat,
    decode_embeddings,
)
from govern.sse import DONE
from govern.usage import Usage
from govern.wire.openai import (
    ChunkChoice,
    CompletionTokensDetails,
    CompletionUsage,
    Embedding,
    EmbeddingResponse,
    EmbeddingUsage,
    ErrorDetail,
    ErrorResponse,
    Model,
    ModelList,
    PromptTokensDetails,
)

if TYPE_CHECKING:
    from govern.sim.server import Fault, SimUpstream

_encode = msgspec.json.Encoder().encode

EMBEDDING_DIMENSIONS = 64
"""Vector size when the request sets no `dimensions` (as the in-process sim provider)."""

_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_USAGE_NULL = b',"usage":null}\n\n'
_AZURE_FILTER_EVENT = (
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":'
    b'[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},'
    b'"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,'
    b'"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}\n\n'
)
_BROKEN_EVENT = b'data: {"id":"chatcmpl-sim","object":"chat.completion.chunk","choices":[{"ind\n\n'
_BROKEN_BODY = b'{"id":"chatcmpl-sim","object":"chat.completion","choices":[{"index":0,"mess'

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
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


class _UsageChunk(msgspec.Struct, kw_only=True):
    """The last event of a stream that asked for usage; `choices` is always `[]`."""

    id: str
    object: str = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage


class _AzureError(msgspec.Struct, kw_only=True):
    code: str
    message: str


class _AzureErrorResponse(msgspec.Struct, kw_only=True):
    error: _AzureError


# --- errors ------------------------------------------------------------------------------


def openai_error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
) -> web.Response:
    """An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""
    if error_type is None:
        error_type = _ERROR_TYPES.get(status, "server_error")
    if code is None and status != 400:
        code = _ERROR_CODES.get(status)
    body = ErrorResponse(
        error=ErrorDetail(message=message, type=error_type, param=param, code=code)
    )
    return web.Response(status=status, body=_encode(body), content_type="application/json")


def azure_error(status: int, message: str) -> web.Response:
    """An error in Azure OpenAI's gateway shape: `{"error": {"code", "message"}}`."""
    body = _AzureErrorResponse(error=_AzureError(code=str(status), message=message))
    return web.Response(status=status, body=_encode(body), content_type="application/json")


def _problem(exc: RequestProblem) -> web.Response:
    return openai_error(400, exc.message, param=exc.param, code=exc.code)


def _mask(key: str) -> str:
    if len(key) <= 10:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _bearer(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    if value[:7].lower() != "bearer ":
        return None
    return value[7:].strip() or None


# --- answers -----------------------------------------------------------------------------


def openai_usage(usage: Usage) -> CompletionUsage:
    """Usage as OpenAI reports it, details included (all zero for the sim)."""
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=0, audio_tokens=0),
        completion_tokens_details=CompletionTokensDetails(
            reasoning_tokens=0,
            audio_tokens=0,
            accepted_prediction_tokens=0,
            rejected_prediction_tokens=0,
        ),
    )


def _answer(sim: SimUpstream, request: ChatRequest, model: str) -> bytes:
    body, usage = completion(request, model, sim.settings.default_output_tokens)
    body.usage = openai_usage(usage)
    return _encode(body)


def stream_events(
    sim: SimUpstream, request: ChatRequest, model: str, *, azure: bool = False
) -> list[bytes]:
    """Every SSE event of a streamed answer, [DONE] excluded."""
    chunks, usage = stream_chunks(request, model, sim.settings.default_output_tokens)
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    events = [_AZURE_FILTER_EVENT] if azure else []
    if include_usage:
        # OpenAI sends `"usage": null` on every chunk once usage is asked for.
        events.extend(b"data: " + _encode(c)[:-1] + _USAGE_NULL for c in chunks)
        last = chunks[-1]
        events.append(
            b"data: "
            + _encode(
                _UsageChunk(
                    id=last.id,
                    created=last.created,
                    model=last.model,
                    choices=[],
                    usage=openai_usage(usage),
                )
            )
            + b"\n\n"
        )
    else:
        events.extend(b"data: " + _encode(c) + b"\n\n" for c in chunks)
    return events


async def _stream(
    request: web.Request, sim: SimUpstream, events: list[bytes], fault: Fault | None
) -> web.StreamResponse:
    interval = sim.settings.chunk_interval_ms / 1000
    if fault is None and not interval:
        return web.Response(body=b"".join(events) + DONE, headers=_SSE_HEADERS)
    if fault is not None and fault.malformed:
        events.insert(1, _BROKEN_EVENT)
    cut_after = fault.cut_after if fault is not None else None
    response = web.StreamResponse(headers=_SSE_HEADERS)
    await response.prepare(request)
    for i, event in enumerate(events):
        if cut_after is not None and i >= cut_after:
            return _drop(request, response)
        if interval and i:
            await asyncio.sleep(interval)
        await response.write(event)
    if cut_after is not None and cut_after <= len(events):
        return _drop(request, response)
    await response.write(DONE)
    await response.write_eof()
    return response


def _drop(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Close the connection mid-body: the client sees a cut-off stream."""
    if request.transport is not None:
        request.transport.close()
    return response


async def _whole(request: web.Request, body: bytes, fault: Fault | None) -> web.StreamResponse:
    if fault is not None and fault.malformed:
        return web.Response(body=_BROKEN_BODY, content_type="application/json")
    if fault is None or fault.cut_after is None:
        return web.Response(body=body, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    return _drop(request, response)


# --- handlers ----------------------------------------------------------------------------


class _Routes:
    """The handlers, bound to one simulated upstream."""

    def __init__(self, sim: SimUpstream):
        self.sim = sim
        created = 1_715_367_049
        models = [Model(id=m, created=created, owned_by="system") for m in SIM_MODELS]
        models.append(Model(id="text-embedding-3-small", created=created, owned_by="system"))
        self.models_body = _encode(ModelList(data=models))

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
            return _problem(problem)
        answer_model = deployment or parsed.model
        if parsed.stream:
            events = stream_events(self.sim, parsed, answer_model, azure=deployment is not None)
            return await _stream(request, self.sim, events, fault)
        return await _whole(request, _answer(self.sim, parsed, answer_model), fault)

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
            return _problem(problem)
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
        return await _whole(request, _encode(answer), fault)

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
