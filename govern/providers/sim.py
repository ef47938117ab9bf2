"""The in-process `sim` provider: offline, deterministic, exact usage (see govern.sim.engine)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from govern.config import ProviderConfig
from govern.errors import UpstreamStatusError
from govern.providers.base import Call, ChatResult, EmbeddingResult, now
from govern.sim import engine
from govern.sim.inputs import SimPrompt, openai_prompt
from govern.transport import Transport
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    FunctionCall,
    FunctionCallDelta,
    ResponseMessage,
    ToolCall,
    ToolCallDelta,
)


def replies(
    request: ChatCompletionRequest, prompt: SimPrompt, default_limit: int
) -> list[engine.SimReply]:
    """The sim model's choices for a request."""
    stop = [request.stop] if isinstance(request.stop, str) else request.stop
    return [
        engine.generate(
            prompt_text=prompt.text,
            limit=request.output_limit,
            default_limit=default_limit,
            index=i,
            seed=request.seed,
            stop=stop,
            tools=prompt.tools,
            forced_tool=prompt.forced_tool,
            last_user_text=prompt.last_user_text,
            json_schema=prompt.json_schema,
        )
        for i in range(request.n or 1)
    ]


def completion(
    request: ChatCompletionRequest, model: str, default_limit: int
) -> tuple[ChatCompletion, Usage]:
    """A whole sim completion and its usage."""
    prompt = openai_prompt(request)
    choices = replies(request, prompt, default_limit)
    usage = Usage(input_tokens=prompt.tokens, output_tokens=sum(r.output_tokens for r in choices))
    return (
        ChatCompletion(
            id="chatcmpl-" + uuid.uuid4().hex,
            created=now(),
            model=model,
            choices=[
                Choice(
                    index=i,
                    message=ResponseMessage(
                        content=None if r.tool_call else r.text,
                        tool_calls=[_tool_call(r.tool_call)] if r.tool_call else None,
                    ),
                    finish_reason=r.finish_reason,
                )
                for i, r in enumerate(choices)
            ],
        ),
        usage,
    )


def _tool_call(call: engine.SimToolCall) -> ToolCall:
    return ToolCall(id=call.id, function=FunctionCall(name=call.name, arguments=call.arguments))


def stream_chunks(
    request: ChatCompletionRequest, model: str, default_limit: int
) -> tuple[list[ChatCompletionChunk], Usage]:
    """The content chunks of a sim stream (role, one word each, finish) and its usage."""
    prompt = openai_prompt(request)
    choices = replies(request, prompt, default_limit)
    cid, created = "chatcmpl-" + uuid.uuid4().hex, now()

    def chunk(index: int, delta: Delta, finish: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=cid,
            created=created,
            model=model,
            choices=[ChunkChoice(index=index, delta=delta, finish_reason=finish)],
        )

    chunks: list[ChatCompletionChunk] = []
    for i, r in enumerate(choices):
        chunks.append(chunk(i, Delta(role="assistant", content="" if not r.tool_call else None)))
        if r.tool_call:
            tc = r.tool_call
            chunks.append(
                chunk(
                    i,
                    Delta(
                        tool_calls=[
                            ToolCallDelta(
                                index=0,
                                id=tc.id,
                                type="function",
                                function=FunctionCallDelta(name=tc.name, arguments=tc.arguments),
                            )
                        ]
                    ),
                )
            )
        chunks.extend(chunk(i, Delta(content=word)) for word in r.words)
        chunks.append(chunk(i, Delta(), r.finish_reason))
    usage = Usage(input_tokens=prompt.tokens, output_tokens=sum(r.output_tokens for r in choices))
    return chunks, usage


class SimStream:
    """A sim stream paced by the provider's `chunk_interval_ms`."""

    def __init__(self, chunks: list[ChatCompletionChunk], usage: Usage, interval: float):
        self._chunks = chunks
        self._final = usage
        self._interval = interval
        self.usage: Usage | None = None

    async def _iterate(self) -> AsyncIterator[ChatCompletionChunk]:
        for i, c in enumerate(self._chunks):
            if self._interval and i:
                await asyncio.sleep(self._interval)
            yield c
        self.usage = self._final

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._iterate()

    async def aclose(self) -> None:
        """Nothing to release."""


class SimProvider:
    """Answers in-process by the sim engine's rules; needs no key and no network."""

    def __init__(self, name: str, config: ProviderConfig, transport: Transport | None = None):
        self.name = name
        self.config = config

    async def _latency(self) -> None:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)

    def _check(self, request: ChatCompletionRequest) -> None:
        problem = engine.output_too_large(
            request.output_limit, self.config.default_output_tokens, request.n or 1
        )
        if problem is not None:
            raise UpstreamStatusError(
                problem, provider=self.name, upstream_status=400, param="max_tokens"
            )

    async def chat(self, request: ChatCompletionRequest, call: Call) -> ChatResult:
        """A sim completion after the configured latency."""
        self._check(request)
        await self._latency()
        body, usage = completion(request, call.model, self.config.default_output_tokens)
        return ChatResult(completion=body, usage=usage)

    async def stream(self, request: ChatCompletionRequest, call: Call) -> SimStream:
        """A sim stream; the first chunk comes after the configured latency."""
        self._check(request)
        await self._latency()
        chunks, usage = stream_chunks(request, call.model, self.config.default_output_tokens)
        return SimStream(chunks, usage, self.config.chunk_interval_ms / 1000)

    async def embed(self, request: EmbeddingRequest, call: Call) -> EmbeddingResult:
        """Deterministic unit vectors; a token is a word."""
        await self._latency()
        inputs = embedding_inputs(request.input)
        dims = request.dimensions or 64
        tokens = sum(engine.count_tokens(t) for t in inputs)
        return EmbeddingResult(
            response=EmbeddingResponse(
                data=[
                    Embedding(index=i, embedding=engine.embedding(t, dims))
                    for i, t in enumerate(inputs)
                ],
                model=call.model,
                usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
            ),
            usage=Usage(input_tokens=tokens),
        )

    async def aclose(self) -> None:
        """Nothing to release."""


def embedding_inputs(value: str | list[str | int | list[int]]) -> list[str]:
    """Embedding inputs as texts (token-id inputs become space-joined ids)."""
    if isinstance(value, str):
        return [value]
    if value and isinstance(value[0], int):
        return [" ".join(str(t) for t in value)]
    return [
        v if isinstance(v, str) else " ".join(str(t) for t in v)
        for v in value
        if not isinstance(v, int)
    ]
