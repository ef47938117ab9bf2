"""Translation between the OpenAI shape and Bedrock Converse, both directions.

Pure functions and a stream-event translator; no I/O, no AWS dependency.
"""

from __future__ import annotations

import logging

import msgspec

from govern.errors import InvalidRequest, UpstreamUnavailable
from govern.providers import bedrock_wire as bw
from govern.providers.base import now, unsupported
from govern.usage import Usage
from govern.wire.openai import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    ContentPart,
    Delta,
    DeveloperMessage,
    FinishReason,
    FunctionCall,
    FunctionCallDelta,
    ImagePart,
    NamedToolChoice,
    RefusalPart,
    ResponseMessage,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolMessage,
    UserMessage,
)

log = logging.getLogger(__name__)

REGION_PREFIXES: tuple[str, ...] = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "in", "global")
"""Cross-region inference profile prefixes (`us.anthropic.claude-...`)."""

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
}

IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}

_EMPTY_SCHEMA = msgspec.Raw(b'{"type":"object","properties":{}}')

# Request fields Converse has no place for; dropped with a debug log.
_DROPPED_FIELDS = (
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "seed",
    "user",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
)


def split_region_prefix(model_id: str) -> tuple[str | None, str]:
    """Split a cross-region inference profile id: `us.anthropic.x` -> (`us`, `anthropic.x`)."""
    head, dot, rest = model_id.partition(".")
    if dot and head in REGION_PREFIXES and "." in rest:
        return head, rest
    return None, model_id


def finish_reason(stop_reason: str) -> FinishReason:
    """The OpenAI finish reason for a Bedrock stop reason."""
    return FINISH_REASONS.get(stop_reason, "stop")


def normalise_usage(usage: bw.TokenUsage) -> Usage:
    """Bedrock usage as a `Usage`: its `inputTokens` excludes cache reads and writes."""
    read, write = usage.cache_read, usage.cache_write
    return Usage(
        input_tokens=usage.input_tokens + read + write,
        cache_read_tokens=read,
        cache_write_5m_tokens=write,
        output_tokens=usage.output_tokens,
    )


# --- request -----------------------------------------------------------------------------


def converse_request(
    request: ChatCompletionRequest, *, provider: str, default_max_tokens: int
) -> bw.ConverseRequest:
    """The Converse body for an OpenAI chat request (model id goes in the URL)."""
    if request.n is not None and request.n > 1:
        raise unsupported(provider, "n > 1 (Converse returns one choice)")
    dropped = [f for f in _DROPPED_FIELDS if getattr(request, f) is not None]
    if dropped:
        log.debug("%s: dropping fields Converse does not take: %s", provider, dropped)
    system: list[bw.SystemBlock] = []
    turns: list[bw.Message] = []
    uses_tools = False
    for i, message in enumerate(request.messages):
        if isinstance(message, SystemMessage | DeveloperMessage):
            text = _text(message.content)
            if text:
                system.append(bw.SystemBlock(text=text))
            continue
        if isinstance(message, UserMessage):
            role, blocks = "user", _user_blocks(message.content, provider)
        elif isinstance(message, AssistantMessage):
            role, blocks = "assistant", _assistant_blocks(message, i)
        else:
            role, blocks = "user", [_tool_result(message)]
        uses_tools = uses_tools or any(b.tool_use or b.tool_result for b in blocks)
        if not blocks:
            continue
        # Converse wants strictly alternating turns; OpenAI allows runs of one role
        # (several tool results, then a user message), so runs are merged.
        if turns and turns[-1].role == role:
            turns[-1].content.extend(blocks)
        else:
            turns.append(bw.Message(role=role, content=blocks))  # type: ignore[arg-type]
    stop = [request.stop] if isinstance(request.stop, str) else request.stop
    limit = request.output_limit
    return bw.ConverseRequest(
        messages=turns,
        system=system or None,
        inference_config=bw.InferenceConfig(
            max_tokens=limit if limit is not None else default_max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop_sequences=stop or None,
        ),
        tool_config=_tool_config(request, uses_tools),
    )


def _text(content: str | list[ContentPart] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(
        p.text if isinstance(p, TextPart) else p.refusal
        for p in content
        if isinstance(p, TextPart | RefusalPart)
    )


def _user_blocks(content: str | list[ContentPart], provider: str) -> list[bw.ContentBlock]:
    if isinstance(content, str):
        return [bw.ContentBlock(text=content)] if content else []
    blocks: list[bw.ContentBlock] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append(bw.ContentBlock(text=part.text))
        elif isinstance(part, ImagePart):
            blocks.append(bw.ContentBlock(image=_image(part.image_url.url, provider)))
        else:
            raise unsupported(provider, f"{part.__class__.__name__} content parts")
    return blocks


def _image(url: str, provider: str) -> bw.ImageBlock:
    # Converse takes image bytes (or S3 locations), never a URL to fetch.
    head, comma, data = url.partition(",")
    if not url.startswith("data:") or not comma or not head.endswith(";base64"):
        raise unsupported(provider, "image URLs; send images as base64 `data:` URLs")
    media = head[5:-7]
    kind = media.partition("/")[2].lower()
    if kind not in IMAGE_FORMATS:
        raise unsupported(provider, f"images of type {media!r} (png, jpeg, gif, webp only)")
    return bw.ImageBlock(format=IMAGE_FORMATS[kind], source=bw.ImageSource(bytes=data))


def _assistant_blocks(message: AssistantMessage, index: int) -> list[bw.ContentBlock]:
    text = _text(message.content) or (message.refusal or "")
    blocks = [bw.ContentBlock(text=text)] if text else []
    for j, call in enumerate(message.tool_calls or []):
        blocks.append(
            bw.ContentBlock(
                tool_use=bw.ToolUseBlock(
                    tool_use_id=call.id,
                    name=call.function.name,
                    input=_arguments(
                        call.function.arguments,
                        f"messages[{index}].tool_calls[{j}].function.arguments",
                    ),
                )
            )
        )
    return blocks


def _arguments(arguments: str, param: str) -> msgspec.Raw:
    if not arguments.strip():
        return msgspec.Raw(b"{}")
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        raise InvalidRequest(f"{param} is not valid JSON", param=param) from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{param} must be a JSON object", param=param)
    return msgspec.Raw(arguments.encode())


def _tool_result(message: ToolMessage) -> bw.ContentBlock:
    return bw.ContentBlock(
        tool_result=bw.ToolResultBlock(
            tool_use_id=message.tool_call_id,
            content=[bw.ToolResultContent(text=_text(message.content))],
        )
    )


def _tool_config(request: ChatCompletionRequest, uses_tools: bool) -> bw.ToolConfig | None:
    if not request.tools:
        return None
    choice: bw.ToolChoice | None = None
    tc = request.tool_choice
    if tc == "none" and not uses_tools:
        # Converse has no "none"; offering no tools is the same. A conversation that
        # already holds tool calls must still declare the tools, so they stay then.
        return None
    if tc == "auto":
        choice = bw.ToolChoice(auto=bw.Empty())
    elif tc == "required":
        choice = bw.ToolChoice(any=bw.Empty())
    elif isinstance(tc, NamedToolChoice):
        choice = bw.ToolChoice(tool=bw.SpecificToolChoice(name=tc.function.name))
    tools = [
        bw.ToolEntry(
            tool_spec=bw.ToolSpec(
                name=t.function.name,
                description=t.function.description or None,
                input_schema=bw.ToolInputSchema(json=t.function.parameters or _EMPTY_SCHEMA),
            )
        )
        for t in request.tools
    ]
    return bw.ToolConfig(tools=tools, tool_choice=choice)


# --- response ----------------------------------------------------------------------------


def completion_from_converse(
    response: bw.ConverseResponse, *, model: str, response_id: str
) -> tuple[ChatCompletion, Usage]:
    """An OpenAI completion and normalised usage from a Converse response."""
    blocks = response.output.message.content if response.output.message else []
    texts = [b.text for b in blocks if b.text is not None]
    calls = [
        ToolCall(
            id=b.tool_use.tool_use_id,
            function=FunctionCall(
                name=b.tool_use.name,
                arguments=bytes(b.tool_use.input).decode(),
            ),
        )
        for b in blocks
        if b.tool_use is not None
    ]
    message = ResponseMessage(content="".join(texts) if texts else None, tool_calls=calls or None)
    completion = ChatCompletion(
        id=response_id,
        created=now(),
        model=model,
        choices=[
            Choice(index=0, message=message, finish_reason=finish_reason(response.stop_reason))
        ],
    )
    return completion, normalise_usage(response.usage)


_EVENT_TYPES: dict[str, type[msgspec.Struct]] = {
    "messageStart": bw.MessageStartEvent,
    "contentBlockStart": bw.ContentBlockStartEvent,
    "contentBlockDelta": bw.ContentBlockDeltaEvent,
    "contentBlockStop": bw.ContentBlockStopEvent,
    "messageStop": bw.MessageStopEvent,
    "metadata": bw.MetadataEvent,
}


class StreamTranslator:
    """Turns ConverseStream events into OpenAI chunks and records the usage."""

    def __init__(self, *, provider: str, model: str, response_id: str):
        self.provider = provider
        self.model = model
        self.response_id = response_id
        self.created = now()
        self.usage: Usage | None = None
        self.stopped = False
        self._tool_index: dict[int, int] = {}
        self._decoders = {name: msgspec.json.Decoder(cls) for name, cls in _EVENT_TYPES.items()}

    @property
    def finished(self) -> bool:
        """Whether both `messageStop` and `metadata` have arrived."""
        return self.stopped and self.usage is not None

    def event(self, event_type: str, payload: bytes) -> ChatCompletionChunk | None:
        """The chunk an event carries, if any (raises UpstreamUnavailable if malformed)."""
        decoder = self._decoders.get(event_type)
        if decoder is None:
            log.debug("%s: ignoring stream event %r", self.provider, event_type)
            return None
        try:
            event = decoder.decode(payload)
        except msgspec.DecodeError as exc:
            raise UpstreamUnavailable(
                f"{self.provider} sent a malformed {event_type} event: {exc}",
                provider=self.provider,
            ) from None
        if isinstance(event, bw.MessageStartEvent):
            return self._chunk(Delta(role="assistant", content=""))
        if isinstance(event, bw.ContentBlockStartEvent):
            start = event.start.tool_use
            if start is None:
                return None
            index = self._tool_index.setdefault(event.content_block_index, len(self._tool_index))
            return self._chunk(
                Delta(
                    tool_calls=[
                        ToolCallDelta(
                            index=index,
                            id=start.tool_use_id,
                            type="function",
                            function=FunctionCallDelta(name=start.name, arguments=""),
                        )
                    ]
                )
            )
        if isinstance(event, bw.ContentBlockDeltaEvent):
            return self._delta(event)
        if isinstance(event, bw.MessageStopEvent):
            self.stopped = True
            return self._chunk(Delta(), finish_reason(event.stop_reason))
        if isinstance(event, bw.MetadataEvent):
            self.usage = normalise_usage(event.usage)
        return None

    def _delta(self, event: bw.ContentBlockDeltaEvent) -> ChatCompletionChunk | None:
        delta = event.delta
        if delta.text is not None:
            return self._chunk(Delta(content=delta.text))
        if delta.tool_use is not None:
            index = self._tool_index.get(event.content_block_index)
            if index is None:
                raise UpstreamUnavailable(
                    f"{self.provider} sent tool input for block "
                    f"{event.content_block_index} before its contentBlockStart",
                    provider=self.provider,
                )
            return self._chunk(
                Delta(
                    tool_calls=[
                        ToolCallDelta(
                            index=index,
                            function=FunctionCallDelta(arguments=delta.tool_use.input),
                        )
                    ]
                )
            )
        return None

    def _chunk(self, delta: Delta, finish: FinishReason | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self.response_id,
            created=self.created,
            model=self.model,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish)],
        )
