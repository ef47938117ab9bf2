"""Between stored completions and streams: replay a completion as chunks, and assemble
the chunks of a finished stream into the completion to store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from govern.usage import Usage
from govern.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    CompletionTokensDetails,
    CompletionUsage,
    Delta,
    FunctionCall,
    FunctionCallDelta,
    PromptTokensDetails,
    ResponseMessage,
    ToolCall,
    ToolCallDelta,
)


def completion_usage(usage: Usage) -> CompletionUsage:
    """A normalised Usage in OpenAI's wire shape."""
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cache_read_tokens),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=usage.reasoning_tokens),
    )


def completion_to_chunks(
    completion: ChatCompletion, usage: Usage | None = None, *, include_usage: bool = True
) -> list[ChatCompletionChunk]:
    """The chunks of a stream that gives `completion`: per choice one chunk with the
    role, content, refusal and whole tool calls, one with the finish reason, then (with
    `include_usage`) the usage chunk with no choices, as OpenAI ends a stream."""

    def chunk(
        choices: list[ChunkChoice], wire_usage: CompletionUsage | None = None
    ) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=completion.id,
            created=completion.created,
            model=completion.model,
            choices=choices,
            usage=wire_usage,
            system_fingerprint=completion.system_fingerprint,
            service_tier=completion.service_tier,
        )

    chunks: list[ChatCompletionChunk] = []
    for choice in completion.choices:
        message = choice.message
        tool_calls = None
        if message.tool_calls:
            tool_calls = [
                ToolCallDelta(
                    index=i,
                    id=call.id,
                    type="function",
                    function=FunctionCallDelta(
                        name=call.function.name, arguments=call.function.arguments
                    ),
                )
                for i, call in enumerate(message.tool_calls)
            ]
        delta = Delta(
            role="assistant",
            content=message.content,
            refusal=message.refusal,
            tool_calls=tool_calls,
        )
        content = ChunkChoice(index=choice.index, delta=delta)
        if _present(choice.logprobs):
            # Only set when present: an explicit empty Raw() is not omitted on encode
            # (it would encode as `"logprobs":` with no value).
            content.logprobs = choice.logprobs
        chunks.append(chunk([content]))
        chunks.append(
            chunk(
                [ChunkChoice(index=choice.index, delta=Delta(), finish_reason=choice.finish_reason)]
            )
        )
    if include_usage:
        wire_usage = completion.usage
        if usage is not None:
            wire_usage = completion_usage(usage)
        if wire_usage is not None:
            chunks.append(chunk([], msgspec.structs.replace(wire_usage, cost_usd=None)))
    return chunks


def _present(raw: msgspec.Raw) -> bool:
    return bool(raw) and bytes(raw) != b"null"


class _Logprobs(msgspec.Struct, omit_defaults=True):
    content: list[msgspec.Raw] | None = None
    refusal: list[msgspec.Raw] | None = None


@dataclass(slots=True)
class _ChoiceParts:
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, list[Any]] = field(default_factory=dict)
    """Tool call index -> [id, name, argument fragments]."""
    logprobs: _Logprobs | None = None
    finish_reason: str | None = None


def chunks_to_completion(chunks: list[ChatCompletionChunk]) -> ChatCompletion | None:
    """The completion a finished stream gave, or None if it is not complete (no chunks,
    or a choice without a finish reason: a cut-off stream is never stored)."""
    if not chunks:
        return None
    first = chunks[0]
    choices: dict[int, _ChoiceParts] = {}
    wire_usage: CompletionUsage | None = None
    fingerprint = None
    for c in chunks:
        wire_usage = c.usage or wire_usage
        fingerprint = c.system_fingerprint or fingerprint
        for cc in c.choices:
            parts = choices.setdefault(cc.index, _ChoiceParts())
            d = cc.delta
            if d.content:
                parts.content.append(d.content)
            if d.refusal:
                parts.refusal.append(d.refusal)
            for tc in d.tool_calls or ():
                call = parts.calls.setdefault(tc.index, [None, None, []])
                call[0] = tc.id or call[0]
                if tc.function is not None:
                    call[1] = tc.function.name or call[1]
                    if tc.function.arguments:
                        call[2].append(tc.function.arguments)
            if _present(cc.logprobs):
                parts.logprobs = _merge_logprobs(parts.logprobs, cc.logprobs)
            if cc.finish_reason is not None:
                parts.finish_reason = cc.finish_reason
    if not choices or any(p.finish_reason is None for p in choices.values()):
        return None
    built: list[Choice] = []
    for index in sorted(choices):
        parts = choices[index]
        calls = None
        if parts.calls:
            if any(parts.calls[i][0] is None or parts.calls[i][1] is None for i in parts.calls):
                return None
            calls = [
                ToolCall(id=cid, function=FunctionCall(name=name, arguments="".join(args)))
                for cid, name, args in (parts.calls[i] for i in sorted(parts.calls))
            ]
        message = ResponseMessage(
            content="".join(parts.content) if parts.content or not calls else None,
            tool_calls=calls,
            refusal="".join(parts.refusal) if parts.refusal else None,
        )
        logprobs = msgspec.Raw(b"null")
        if parts.logprobs is not None:
            logprobs = msgspec.Raw(msgspec.json.encode(parts.logprobs))
        built.append(
            Choice(
                index=index, message=message, finish_reason=parts.finish_reason, logprobs=logprobs
            )
        )
    if wire_usage is not None:
        wire_usage = msgspec.structs.replace(wire_usage, cost_usd=None)
    return ChatCompletion(
        id=first.id,
        created=first.created,
        model=first.model,
        choices=built,
        usage=wire_usage,
        system_fingerprint=fingerprint,
        service_tier=first.service_tier,
    )


def _merge_logprobs(acc: _Logprobs | None, raw: msgspec.Raw) -> _Logprobs:
    part = msgspec.json.decode(raw, type=_Logprobs)
    if acc is None:
        return part
    if part.content:
        acc.content = (acc.content or []) + part.content
    if part.refusal:
        acc.refusal = (acc.refusal or []) + part.refusal
    return acc
