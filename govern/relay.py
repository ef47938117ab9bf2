"""Streams: relay the provider's chunks to the client and close the attempt at the end."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from govern.accounting import Accountant, Attempt, Charge
from govern.cache.stream import chunks_to_completion
from govern.errors import GovernError
from govern.replies import StreamReply
from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    CompletionTokensDetails,
    CompletionUsage,
    PromptTokensDetails,
)

log = logging.getLogger("govern.pipeline")

CLIENT_CLOSED = 499
"""The status logged for a stream the client stopped reading (nginx's convention)."""


async def empty() -> AsyncGenerator[ChatCompletionChunk, None]:
    """No chunks (a placeholder until the relay is attached)."""
    return
    yield  # pragma: no cover - makes this an async generator


StreamStore = Callable[[ChatCompletion, Usage, Charge], Awaitable[None]]
"""Stores a finished stream's completion in the cache."""


class ReplayedStream:
    """A stream served from the cache: nothing upstream to read or release."""

    def __init__(self, chunks: list[ChatCompletionChunk]):
        self.chunks = chunks
        self.usage: Usage | None = None

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return replay(self.chunks)

    async def aclose(self) -> None:
        """Nothing to release."""


async def replay(chunks: list[ChatCompletionChunk]) -> AsyncGenerator[ChatCompletionChunk, None]:
    """Stored chunks, in order."""
    for chunk in chunks:
        yield chunk


async def relay(
    accountant: Accountant,
    reply: StreamReply,
    attempt: Attempt,
    include_usage: bool,
    store: StreamStore | None = None,
) -> AsyncGenerator[ChatCompletionChunk, None]:
    """Content chunks from the provider, then the usage chunk if the client asked.

    The attempt is settled and recorded when the stream ends, however it ends: in full;
    cut by the upstream; or dropped by the client, when the input plus the output
    generated so far is charged (the provider's running usage if it reports one, else
    the estimated input and one token per content chunk).
    """
    stream = reply.stream
    last: ChatCompletionChunk | None = None
    produced = 0
    status: int = CLIENT_CLOSED
    error_type: str | None = "client_disconnected"
    collected: list[ChatCompletionChunk] | None = [] if store is not None else None
    try:
        async for chunk in stream:
            if last is None:
                attempt.first_token()
            last = chunk
            produced += _has_content(chunk)
            if collected is not None:
                collected.append(chunk)
            yield chunk
        status, error_type = 200, None
        if stream.usage is None:
            log.warning("stream from %s ended without usage", attempt.route.qualified)
        reply.charge = await accountant.succeeded(attempt, stream.usage)
        if store is not None and collected and stream.usage is not None:
            completion = chunks_to_completion(collected)  # None if it did not finish
            if completion is not None:
                await store(completion, stream.usage, reply.charge)
        if include_usage and last is not None and stream.usage is not None:
            usage = openai_usage(stream.usage)
            usage.cost_usd = reply.charge.header
            yield ChatCompletionChunk(
                id=last.id, created=last.created, model=last.model, choices=[], usage=usage
            )
    except GovernError as exc:
        status, error_type = exc.status, exc.type
        raise
    finally:
        if status != 200:
            reply.charge = await accountant.succeeded(
                attempt,
                _so_far(stream.usage, attempt, produced),
                status=status,
                error_type=error_type,
            )
        await stream.aclose()


async def abandon(accountant: Accountant, reply: StreamReply, attempt: Attempt) -> None:
    """Close a stream whose relay never started (the client left before its first
    byte): release the upstream and record the attempt as the relay would have."""
    try:
        reply.charge = await accountant.succeeded(
            attempt,
            _so_far(reply.stream.usage, attempt, 0),
            status=CLIENT_CLOSED,
            error_type="client_disconnected",
        )
    finally:
        await reply.stream.aclose()


def _has_content(chunk: ChatCompletionChunk) -> int:
    for choice in chunk.choices:
        delta = choice.delta
        if delta.content or delta.tool_calls or delta.refusal:
            return 1
    return 0


def _so_far(reported: Usage | None, attempt: Attempt, produced: int) -> Usage | None:
    """What a stream cut short has used: the provider's count, else our own."""
    if reported is not None and reported.output_tokens >= produced:
        return reported
    input_tokens = reported.input_tokens if reported is not None else 0
    if not input_tokens and attempt.estimate is not None:
        input_tokens = attempt.estimate.input_tokens
    if not input_tokens and not produced:
        return reported
    return Usage(input_tokens=input_tokens, output_tokens=produced)


def openai_usage(usage: Usage) -> CompletionUsage:
    """A normalised Usage in OpenAI's wire shape."""
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cache_read_tokens),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=usage.reasoning_tokens),
    )
