"""The gateway's own Anthropic endpoint (`POST /anthropic/v1/messages`), as pure functions.

Anthropic SDK users point `base_url` at the gateway; their requests are translated to the
gateway's OpenAI shape, run through the pipeline like any other, and the answer is
translated back: a `Message`, or an Anthropic SSE stream built from OpenAI chunks
(`govern.inbound.anthropic_stream`).

What the OpenAI shape cannot carry is dropped: `thinking` (and the thinking blocks of
earlier turns), `top_k`, `output_config.effort` and `service_tier` with a debug log, and
`cache_control` breakpoints. A `stop_sequence` stop comes back as `end_turn`, since
OpenAI's `stop` finish reason does not say which way the answer stopped.
"""

from __future__ import annotations

import logging

import msgspec

from govern.errors import GovernError, InvalidRequest
from govern.providers.anthropic_mapping import STOP_REASON_BY_FINISH, anthropic_usage
from govern.sse import encode_event
from govern.usage import Usage
from govern.wire import anthropic as a
from govern.wire.openai import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    CompletionUsage,
    ContentPart,
    FilePart,
    FileRef,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    JSONSchemaFormat,
    JSONSchemaResponseFormat,
    Message,
    NamedToolChoice,
    StreamOptions,
    SystemMessage,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
    ToolMessage,
    UserMessage,
)

log = logging.getLogger("govern.inbound.anthropic")

_encode = msgspec.json.Encoder().encode
_REQUEST = msgspec.json.Decoder(a.MessagesRequest)
_EMPTY_INPUT = msgspec.Raw(b"{}")


def decode_request(body: bytes) -> a.MessagesRequest:
    """A Messages request body; a malformed one is a 400 in Anthropic's words."""
    if not body:
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        request = _REQUEST.decode(body)
    except msgspec.ValidationError as exc:
        message = a.validation_message(exc)
        path, colon, _ = message.partition(": ")
        raise InvalidRequest(message, param=path if colon and " " not in path else None) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from None
    if request.max_tokens < 1:
        raise InvalidRequest(
            "max_tokens: Input should be greater than or equal to 1", param="max_tokens"
        )
    if not request.messages:
        raise InvalidRequest("messages: at least one message is required", param="messages")
    return request


# --- request: Anthropic -> OpenAI --------------------------------------------------------


def to_openai_request(request: a.MessagesRequest) -> ChatCompletionRequest:
    """The gateway's OpenAI-shaped request for an Anthropic Messages request."""
    messages: list[Message] = []
    if request.system:
        messages.append(SystemMessage(content=_system_content(request.system)))
    for turn in request.messages:
        if turn.role == "assistant":
            messages.append(_assistant(turn.content))
        elif turn.role == "system":
            messages.append(SystemMessage(content=_system_content(turn.content)))
        else:
            messages.extend(_user(turn.content))
    for name in ("top_k", "thinking", "service_tier"):
        if getattr(request, name) is not None:
            log.debug("dropping `%s`, which the OpenAI shape cannot carry", name)
    if request.output_config and request.output_config.effort:
        log.debug("dropping `output_config.effort`, which the OpenAI shape cannot carry")
    tool_choice, parallel = _tool_choice(request.tool_choice)
    fmt = request.output_config.format if request.output_config else None
    return ChatCompletionRequest(
        model=request.model,
        messages=messages,
        max_completion_tokens=request.max_tokens,
        stop=request.stop_sequences,
        temperature=request.temperature,
        top_p=request.top_p,
        tools=[
            Tool(
                function=FunctionDefinition(
                    name=t.name,
                    description=t.description,
                    parameters=t.input_schema,
                    strict=t.strict,
                )
            )
            for t in request.tools
        ]
        if request.tools
        else None,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        user=request.metadata.user_id if request.metadata else None,
        stream=True if request.stream else None,
        stream_options=StreamOptions(include_usage=True) if request.stream else None,
        response_format=JSONSchemaResponseFormat(
            json_schema=JSONSchemaFormat(name="output", schema=fmt.schema)
        )
        if fmt is not None
        else None,
    )


def _system_content(
    system: str | list[a.TextBlock] | list[a.ContentBlock],
) -> str | list[ContentPart]:
    if isinstance(system, str):
        return system
    return [TextPart(text=b.text) for b in system if isinstance(b, a.TextBlock)]


def _assistant(content: str | list[a.ContentBlock]) -> AssistantMessage:
    if isinstance(content, str):
        return AssistantMessage(content=content)
    texts = [b.text for b in content if isinstance(b, a.TextBlock)]
    calls = [
        ToolCall(id=b.id, function=FunctionCall(name=b.name, arguments=bytes(b.input).decode()))
        for b in content
        if isinstance(b, a.ToolUseBlock)
    ]
    if any(isinstance(b, a.ThinkingBlock | a.RedactedThinkingBlock) for b in content):
        log.debug("dropping thinking blocks, which the OpenAI shape cannot carry")
    return AssistantMessage(content="".join(texts) if texts else None, tool_calls=calls or None)


def _user(content: str | list[a.ContentBlock]) -> list[Message]:
    # Tool results become OpenAI tool messages, which must directly follow the assistant
    # turn; the rest of the user turn (and images returned by tools) follows them.
    if isinstance(content, str):
        return [UserMessage(content=content)]
    results: list[Message] = []
    parts: list[ContentPart] = []
    for block in content:
        if isinstance(block, a.ToolResultBlock):
            results.append(_tool_message(block, parts))
        else:
            parts.extend(_parts(block))
    if parts:
        results.append(UserMessage(content=parts))
    return results


def _tool_message(block: a.ToolResultBlock, spill: list[ContentPart]) -> ToolMessage:
    if block.content is None or isinstance(block.content, str):
        return ToolMessage(tool_call_id=block.tool_use_id, content=block.content or "")
    texts: list[ContentPart] = []
    for inner in block.content:
        for part in _parts(inner):
            (texts if isinstance(part, TextPart) else spill).append(part)
    return ToolMessage(tool_call_id=block.tool_use_id, content=texts)


def _parts(block: a.ContentBlock | a.TextBlock | a.ImageBlock) -> list[ContentPart]:
    if isinstance(block, a.TextBlock):
        return [TextPart(text=block.text)]
    if isinstance(block, a.ImageBlock):
        return [ImagePart(image_url=ImageURL(url=_source_url(block.source, "image")))]
    if isinstance(block, a.DocumentBlock):
        source = block.source
        if isinstance(source, a.PlainTextSource):
            return [TextPart(text=source.data)]
        if isinstance(source, a.ContentSource):
            if isinstance(source.content, str):
                return [TextPart(text=source.content)]
            return [p for inner in source.content for p in _parts(inner)]
        url = _source_url(source, "document")
        return [FilePart(file=FileRef(file_data=url, filename=block.title))]
    if isinstance(block, a.ThinkingBlock | a.RedactedThinkingBlock):
        log.debug("dropping a thinking block in a user turn")
        return []
    raise InvalidRequest(
        f"a {block.__struct_config__.tag} block is not allowed in a user turn",
        param="messages",
    )


def _source_url(source: a.DocumentSource, what: str) -> str:
    if isinstance(source, a.Base64Source):
        return f"data:{source.media_type};base64,{source.data}"
    if isinstance(source, a.URLSource) and what == "image":
        return source.url
    kind = source.__struct_config__.tag
    raise InvalidRequest(
        f"{what} sources of type {kind!r} are not supported by the gateway", param="messages"
    )


def _tool_choice(choice: a.ToolChoice | None) -> tuple[ToolChoice | None, bool | None]:
    if choice is None:
        return None, None
    if isinstance(choice, a.ToolChoiceNone):
        return "none", None
    parallel = False if choice.disable_parallel_tool_use else None
    if isinstance(choice, a.ToolChoiceAny):
        return "required", parallel
    if isinstance(choice, a.ToolChoiceTool):
        return NamedToolChoice(function=ToolChoiceFunction(name=choice.name)), parallel
    return "auto", parallel


# --- response: OpenAI -> Anthropic -------------------------------------------------------


def _tool_input(arguments: str) -> msgspec.Raw:
    try:
        value = msgspec.json.decode(arguments) if arguments.strip() else {}
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        log.warning("a tool call's arguments are not a JSON object; sending {} instead")
        return _EMPTY_INPUT
    return msgspec.Raw(arguments.encode()) if arguments.strip() else _EMPTY_INPUT


def to_anthropic_message(
    completion: ChatCompletion, usage: Usage, *, model: str | None = None
) -> a.Message:
    """The Anthropic `Message` for a finished chat completion (its first choice)."""
    content: list[a.ResponseBlock] = []
    stop: a.StopReason = "end_turn"
    if completion.choices:
        choice = completion.choices[0]
        text = choice.message.content
        if text:
            content.append(a.TextBlock(text=text))
        for call in choice.message.tool_calls or ():
            content.append(
                a.ToolUseBlock(
                    id=call.id, name=call.function.name, input=_tool_input(call.function.arguments)
                )
            )
        stop = STOP_REASON_BY_FINISH.get(choice.finish_reason or "stop", "end_turn")
    return a.Message(
        id=completion.id,
        model=model or completion.model,
        content=content,
        usage=anthropic_usage(usage),
        stop_reason=stop,
    )


def usage_from_openai(usage: CompletionUsage) -> Usage:
    """A `Usage` from OpenAI's usage shape (cache writes are not in it)."""
    prompt = usage.prompt_tokens_details
    completion = usage.completion_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens,
        cache_read_tokens=(prompt.cached_tokens or 0) if prompt else 0,
        output_tokens=usage.completion_tokens,
        reasoning_tokens=(completion.reasoning_tokens or 0) if completion else 0,
    )


# --- errors ------------------------------------------------------------------------------

_ANTHROPIC_TYPES = frozenset(a.ERROR_TYPE_BY_STATUS.values())


def error_response(error: GovernError, request_id: str | None = None) -> a.ErrorResponse:
    """A gateway error as Anthropic's error body (the HTTP status stays `error.status`)."""
    kind = error.type if error.type in _ANTHROPIC_TYPES else a.error_type_for_status(error.status)
    return a.ErrorResponse(
        error=a.ErrorDetail(type=kind, message=error.message), request_id=request_id
    )


def error_body(error: GovernError, request_id: str | None = None) -> bytes:
    """The encoded Anthropic error body for a gateway error."""
    return _encode(error_response(error, request_id))


def error_event(error: GovernError, request_id: str | None = None) -> bytes:
    """A gateway error as an Anthropic SSE `error` event (for failures mid-stream)."""
    return encode_event("error", error_body(error, request_id))
