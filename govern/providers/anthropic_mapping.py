"""Translation between the OpenAI shape and the Anthropic Messages API.

Used by the `anthropic` provider (OpenAI request -> Anthropic request, Anthropic
response -> OpenAI response) and by the gateway's own Anthropic endpoint
(`govern.inbound.anthropic`, the reverse), so both share one set of mapping tables.

Best-effort mappings (no exact Anthropic equivalent):
- `response_format` `json_schema` becomes `output_config.format` (Anthropic structured
  outputs); `json_object` has no equivalent and is dropped.
- `n` > 1 and audio input are rejected (400); OpenAI file ids cannot be resolved.
- `seed`, penalties, `logit_bias`, `logprobs`, `reasoning_effort` and unknown extra
  fields are dropped with a debug log.
- `temperature` above Anthropic's maximum of 1 (OpenAI allows up to 2) is lowered to 1,
  so that a request valid for OpenAI, or falling back from it, is not refused.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

import msgspec

from govern.errors import UpstreamStatusError
from govern.providers.base import now, unsupported
from govern.usage import Usage
from govern.wire import anthropic as a
from govern.wire.openai import (
    AssistantMessage,
    AudioPart,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ContentPart,
    DeveloperMessage,
    FilePart,
    FinishReason,
    FunctionCall,
    ImagePart,
    JSONObjectFormat,
    JSONSchemaResponseFormat,
    NamedToolChoice,
    RefusalPart,
    ResponseMessage,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)

log = logging.getLogger("govern.providers.anthropic")

FINISH_BY_STOP_REASON: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""OpenAI's finish reason for each Anthropic stop reason."""

STOP_REASON_BY_FINISH: dict[str, a.StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""Anthropic's stop reason for each OpenAI finish reason."""

_DROPPED = (
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
)
_EMPTY_SCHEMA = msgspec.Raw(b'{"type":"object","properties":{}}')
_EMPTY_INPUT = msgspec.Raw(b"{}")


def finish_reason(stop_reason: str | None) -> FinishReason:
    """OpenAI's finish reason for an Anthropic stop reason (unknown ones: `stop`)."""
    return FINISH_BY_STOP_REASON.get(stop_reason or "end_turn", "stop")


# --- usage -------------------------------------------------------------------------------


def normalise_usage(usage: a.MessageUsage) -> Usage:
    """Anthropic usage as a `Usage`: input grows by the cache reads and writes it excludes."""
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    one_hour = 0
    if usage.cache_creation is not None:
        one_hour = usage.cache_creation.ephemeral_1h_input_tokens
        written = max(written, one_hour + usage.cache_creation.ephemeral_5m_input_tokens)
    details = usage.output_tokens_details
    return Usage(
        input_tokens=(usage.input_tokens or 0) + read + written,
        cache_read_tokens=read,
        cache_write_5m_tokens=written - one_hour,
        cache_write_1h_tokens=one_hour,
        output_tokens=usage.output_tokens,
        reasoning_tokens=details.thinking_tokens if details is not None else 0,
    )


def anthropic_usage(usage: Usage) -> a.MessageUsage:
    """A `Usage` in Anthropic's shape (input without cache reads and writes)."""
    return a.MessageUsage(
        input_tokens=usage.uncached_input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_write_tokens,
        cache_read_input_tokens=usage.cache_read_tokens,
        cache_creation=a.CacheCreation(
            ephemeral_5m_input_tokens=usage.cache_write_5m_tokens,
            ephemeral_1h_input_tokens=usage.cache_write_1h_tokens,
        ),
        output_tokens_details=a.OutputTokensDetails(thinking_tokens=usage.reasoning_tokens)
        if usage.reasoning_tokens
        else None,
    )


# --- request: OpenAI -> Anthropic --------------------------------------------------------


def to_anthropic_request(
    request: ChatCompletionRequest,
    *,
    provider: str,
    model: str,
    default_max_tokens: int,
    stream: bool = False,
) -> a.MessagesRequest:
    """The Anthropic request for an OpenAI chat request (`max_tokens` filled in)."""
    if request.n is not None and request.n > 1:
        raise unsupported(provider, "n > 1 (several choices per request)")
    system: list[a.TextBlock] = []
    turns: list[a.MessageParam] = []
    for message in request.messages:
        if isinstance(message, SystemMessage | DeveloperMessage):
            system.extend(_text_blocks(message.content, provider))
        elif isinstance(message, UserMessage):
            _append(turns, "user", _user_blocks(message.content, provider))
        elif isinstance(message, AssistantMessage):
            _append(turns, "assistant", _assistant_blocks(message, provider))
        elif isinstance(message, ToolMessage):
            result_content: str | list[a.TextBlock | a.ImageBlock | a.DocumentBlock] = (
                message.content
                if isinstance(message.content, str)
                else list(_text_blocks(message.content, provider))
            )
            result = a.ToolResultBlock(tool_use_id=message.tool_call_id, content=result_content)
            _append(turns, "user", [result])
    for name in _DROPPED:
        if getattr(request, name) is not None:
            log.debug("%s: dropping `%s`, which Anthropic does not support", provider, name)
    return a.MessagesRequest(
        model=model,
        messages=turns,
        max_tokens=request.output_limit or default_max_tokens,
        system=_system(system),
        stop_sequences=[request.stop] if isinstance(request.stop, str) else request.stop,
        temperature=_temperature(request.temperature, provider),
        top_p=request.top_p,
        tools=[
            a.ToolDefinition(
                name=t.function.name,
                description=t.function.description,
                input_schema=t.function.parameters or _EMPTY_SCHEMA,
                strict=t.function.strict,
            )
            for t in request.tools
        ]
        if request.tools
        else None,
        tool_choice=_tool_choice(request),
        metadata=a.Metadata(user_id=request.user) if request.user else None,
        stream=True if stream else None,
        output_config=_output_config(request, provider),
    )


def _temperature(value: float | None, provider: str) -> float | None:
    if value is not None and value > 1:
        log.debug("%s: lowering temperature %g to Anthropic's maximum of 1", provider, value)
        return 1.0
    return value


def _system(blocks: list[a.TextBlock]) -> str | list[a.TextBlock] | None:
    if not blocks:
        return None
    if len(blocks) == 1:
        return blocks[0].text
    return blocks


def _append(
    turns: list[a.MessageParam], role: Literal["user", "assistant"], blocks: list[a.ContentBlock]
) -> None:
    # Anthropic wants user and assistant turns to alternate: consecutive turns of one role
    # (tool results, then the next user message) become a single turn, in which the tool
    # results must come first.
    if not blocks:
        return
    if not turns or turns[-1].role != role:
        turns.append(a.MessageParam(role=role, content=blocks))
        return
    previous = turns[-1].content
    if isinstance(previous, str):
        previous = [a.TextBlock(text=previous)]
    merged = [*previous, *blocks]
    results: list[a.ContentBlock] = [b for b in merged if isinstance(b, a.ToolResultBlock)]
    turns[-1].content = results + [b for b in merged if not isinstance(b, a.ToolResultBlock)]


def _text_blocks(content: str | list[ContentPart], provider: str) -> list[a.TextBlock]:
    if isinstance(content, str):
        return [a.TextBlock(text=content)] if content else []
    blocks: list[a.TextBlock] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append(a.TextBlock(text=part.text))
        else:
            raise unsupported(provider, f"{_part_name(part)} content here (only text)")
    return blocks


def _user_blocks(content: str | list[ContentPart], provider: str) -> list[a.ContentBlock]:
    if isinstance(content, str):
        return [a.TextBlock(text=content)] if content else []
    blocks: list[a.ContentBlock] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append(a.TextBlock(text=part.text))
        elif isinstance(part, ImagePart):
            blocks.append(a.ImageBlock(source=_image_source(part.image_url.url, provider)))
        elif isinstance(part, FilePart) and part.file.file_data:
            media_type, data = _data_url(part.file.file_data, provider)
            blocks.append(
                a.DocumentBlock(
                    source=a.Base64Source(media_type=media_type, data=data),
                    title=part.file.filename,
                )
            )
        else:
            raise unsupported(provider, f"{_part_name(part)} content")
    return blocks


def _part_name(part: ContentPart) -> str:
    if isinstance(part, AudioPart):
        return "audio"
    if isinstance(part, FilePart):
        return "file-id" if part.file.file_id else "file"
    if isinstance(part, RefusalPart):
        return "refusal"
    return "image" if isinstance(part, ImagePart) else "text"


def _image_source(url: str, provider: str) -> a.ImageSource:
    if url.startswith("data:"):
        media_type, data = _data_url(url, provider)
        return a.Base64Source(media_type=media_type, data=data)
    if url.startswith(("https://", "http://")):
        return a.URLSource(url=url)
    raise UpstreamStatusError(
        "image_url must be an http(s) URL or a base64 data: URL",
        provider=provider,
        upstream_status=400,
        param="messages",
    )


def _data_url(url: str, provider: str) -> tuple[str, str]:
    header, comma, data = url.partition(",")
    media_type, _, encoding = header.removeprefix("data:").partition(";")
    if not comma or encoding != "base64" or not media_type:
        raise UpstreamStatusError(
            "a data: URL must look like data:<media type>;base64,<data>",
            provider=provider,
            upstream_status=400,
            param="messages",
        )
    return media_type, data


def _assistant_blocks(message: AssistantMessage, provider: str) -> list[a.ContentBlock]:
    blocks: list[a.ContentBlock] = []
    if message.content:
        if isinstance(message.content, str):
            blocks.append(a.TextBlock(text=message.content))
        else:
            texts = [p.text for p in message.content if isinstance(p, TextPart) and p.text]
            blocks.extend(a.TextBlock(text=t) for t in texts)
    for call in message.tool_calls or ():
        blocks.append(
            a.ToolUseBlock(
                id=call.id,
                name=call.function.name,
                input=_tool_input(call.function.arguments, call.id, provider),
            )
        )
    return blocks


def _tool_input(arguments: str, call_id: str, provider: str) -> msgspec.Raw:
    if not arguments.strip():
        return _EMPTY_INPUT
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamStatusError(
            f"the arguments of tool call {call_id!r} are not a JSON object; "
            "Anthropic needs tool inputs as objects",
            provider=provider,
            upstream_status=400,
            param="messages",
        )
    return msgspec.Raw(arguments.encode())


def _tool_choice(request: ChatCompletionRequest) -> a.ToolChoice | None:
    choice = request.tool_choice
    single = True if request.parallel_tool_calls is False else None
    if choice == "none":
        return a.ToolChoiceNone()
    if choice == "required":
        return a.ToolChoiceAny(disable_parallel_tool_use=single)
    if isinstance(choice, NamedToolChoice):
        return a.ToolChoiceTool(name=choice.function.name, disable_parallel_tool_use=single)
    if choice == "auto" or (single and request.tools):
        return a.ToolChoiceAuto(disable_parallel_tool_use=single)
    return None


def _output_config(request: ChatCompletionRequest, provider: str) -> a.OutputConfig | None:
    fmt = request.response_format
    if isinstance(fmt, JSONSchemaResponseFormat):
        schema = fmt.json_schema.schema or _EMPTY_SCHEMA
        return a.OutputConfig(format=a.JSONOutputFormat(schema=schema))
    if isinstance(fmt, JSONObjectFormat):
        log.debug("%s: dropping response_format json_object (no Anthropic equivalent)", provider)
    return None


# --- response: Anthropic -> OpenAI -------------------------------------------------------


def to_chat_completion(message: a.Message) -> ChatCompletion:
    """The OpenAI chat completion for an Anthropic message (usage left to the caller)."""
    texts = [b.text for b in message.content if isinstance(b, a.TextBlock)]
    calls = [
        ToolCall(id=b.id, function=FunctionCall(name=b.name, arguments=bytes(b.input).decode()))
        for b in message.content
        if isinstance(b, a.ToolUseBlock)
    ]
    content = "".join(texts) if texts else (None if calls else "")
    return ChatCompletion(
        id=message.id or "chatcmpl-" + uuid.uuid4().hex,
        created=now(),
        model=message.model,
        choices=[
            Choice(
                index=0,
                message=ResponseMessage(content=content, tool_calls=calls or None),
                finish_reason=finish_reason(message.stop_reason),
            )
        ],
    )
