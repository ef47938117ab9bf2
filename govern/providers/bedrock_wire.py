"""msgspec Structs for the Bedrock Converse and ConverseStream APIs (the `bedrock-runtime`
service's JSON shapes, member names in camelCase).

Converse unions are "one member set" objects (`{"text": ...}` or `{"toolUse": ...}`), so
each union is one Struct with every member optional. Documents the gateway forwards
without reading (JSON Schemas, tool inputs) stay `msgspec.Raw`; as in
`govern.wire.openai`, an optional one defaults to the empty (falsy) `Raw()`, because
msgspec cannot decode a value into `Raw | None`.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Raw, Struct


class _Wire(Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """Base: camelCase member names, absent members omitted."""


# --- content -----------------------------------------------------------------------------


class ImageSource(_Wire):
    """Where an image's bytes are: inline (base64 in JSON) or in S3."""

    bytes: str | None = None
    s3_location: Raw = Raw()


class ImageBlock(_Wire):
    """An image content block."""

    format: str
    source: ImageSource


class ToolUseBlock(_Wire):
    """A tool call made by the model; `input` is a JSON document."""

    tool_use_id: str
    name: str
    input: Raw


class ToolResultContent(_Wire):
    """One part of a tool result."""

    text: str | None = None
    json: Raw = Raw()
    image: ImageBlock | None = None
    document: Raw = Raw()


class ToolResultBlock(_Wire):
    """The result of a tool call, sent back in a user message."""

    tool_use_id: str
    content: list[ToolResultContent]
    status: Literal["success", "error"] | None = None


class ContentBlock(_Wire):
    """One content block; exactly one member is set."""

    text: str | None = None
    image: ImageBlock | None = None
    tool_use: ToolUseBlock | None = None
    tool_result: ToolResultBlock | None = None
    document: Raw = Raw()
    video: Raw = Raw()
    cache_point: Raw = Raw()
    guard_content: Raw = Raw()
    reasoning_content: Raw = Raw()
    citations_content: Raw = Raw()


class Message(_Wire):
    """A conversation turn."""

    role: Literal["user", "assistant"]
    content: list[ContentBlock]


class SystemBlock(_Wire):
    """A system prompt block."""

    text: str | None = None
    cache_point: Raw = Raw()
    guard_content: Raw = Raw()


# --- request -----------------------------------------------------------------------------


class InferenceConfig(_Wire):
    """The inference parameters every Converse model accepts."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None


class ToolInputSchema(_Wire):
    """A tool's input as a JSON Schema."""

    json: Raw


class ToolSpec(_Wire):
    """A tool the model may call."""

    name: str
    input_schema: ToolInputSchema
    description: str | None = None


class ToolEntry(_Wire):
    """An entry of `toolConfig.tools`."""

    tool_spec: ToolSpec | None = None
    cache_point: Raw = Raw()


class Empty(_Wire):
    """An object with no members (`{"auto": {}}`)."""


class SpecificToolChoice(_Wire):
    """Force the named tool."""

    name: str


class ToolChoice(_Wire):
    """How the model picks tools: `auto`, `any` or one named `tool`."""

    auto: Empty | None = None
    any: Empty | None = None
    tool: SpecificToolChoice | None = None


class ToolConfig(_Wire):
    """The tools offered and the choice rule."""

    tools: list[ToolEntry]
    tool_choice: ToolChoice | None = None


class ConverseRequest(_Wire):
    """`POST /model/{modelId}/converse` (and `/converse-stream`) body."""

    messages: list[Message] | None = None
    system: list[SystemBlock] | None = None
    inference_config: InferenceConfig | None = None
    tool_config: ToolConfig | None = None
    guardrail_config: Raw = Raw()
    additional_model_request_fields: Raw = Raw()
    additional_model_response_field_paths: list[str] | None = None
    prompt_variables: Raw = Raw()
    request_metadata: dict[str, str] | None = None
    performance_config: Raw = Raw()


# --- response ----------------------------------------------------------------------------

StopReason = str
"""`end_turn`, `tool_use`, `max_tokens`, `stop_sequence`, `guardrail_intervened`,
`content_filtered`, `malformed_model_output`, `malformed_tool_use`,
`model_context_window_exceeded` (kept open: AWS adds values)."""


class TokenUsage(_Wire):
    """Token counts. `inputTokens` excludes cache reads and cache writes.

    Stream `metadata` events have been seen to spell the cache members
    `cacheReadInputTokenCount` / `cacheWriteInputTokenCount`; both spellings are read.
    """

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    cache_read_input_token_count: int | None = None
    cache_write_input_token_count: int | None = None
    cache_details: Raw = Raw()

    @property
    def cache_read(self) -> int:
        """Cache-read tokens, whichever spelling carried them."""
        return self.cache_read_input_tokens or self.cache_read_input_token_count or 0

    @property
    def cache_write(self) -> int:
        """Cache-write tokens, whichever spelling carried them."""
        return self.cache_write_input_tokens or self.cache_write_input_token_count or 0


class Metrics(_Wire):
    """Call metrics."""

    latency_ms: int


class ConverseOutput(_Wire):
    """The `output` member of a Converse response."""

    message: Message | None = None


class ConverseResponse(_Wire):
    """`POST /model/{modelId}/converse` response."""

    output: ConverseOutput
    stop_reason: StopReason
    usage: TokenUsage
    metrics: Metrics
    additional_model_response_fields: Raw = Raw()
    trace: Raw = Raw()
    performance_config: Raw = Raw()


class ErrorBody(_Wire):
    """An error response body; most services say `message`, a few `Message`."""

    message: str | None = None
    Message: str | None = None


# --- stream events (payloads; the event name is the `:event-type` header) ----------------


class MessageStartEvent(_Wire):
    """`messageStart`: the assistant turn begins."""

    role: Literal["user", "assistant"]
    p: str | None = None


class ToolUseStart(_Wire):
    """The id and name of a tool call, sent when its block starts."""

    tool_use_id: str
    name: str


class ContentBlockStart(_Wire):
    """What kind of block starts (only tool-use blocks announce themselves)."""

    tool_use: ToolUseStart | None = None


class ContentBlockStartEvent(_Wire):
    """`contentBlockStart`."""

    start: ContentBlockStart
    content_block_index: int
    p: str | None = None


class ToolUseDelta(_Wire):
    """A fragment of a tool call's JSON input."""

    input: str


class ContentBlockDelta(_Wire):
    """New content for a block: text, a tool-input fragment, or reasoning."""

    text: str | None = None
    tool_use: ToolUseDelta | None = None
    reasoning_content: Raw = Raw()
    citation: Raw = Raw()


class ContentBlockDeltaEvent(_Wire):
    """`contentBlockDelta`."""

    delta: ContentBlockDelta
    content_block_index: int
    p: str | None = None


class ContentBlockStopEvent(_Wire):
    """`contentBlockStop`."""

    content_block_index: int
    p: str | None = None


class MessageStopEvent(_Wire):
    """`messageStop`: why generation ended."""

    stop_reason: StopReason
    additional_model_response_fields: Raw = Raw()
    p: str | None = None


class MetadataEvent(_Wire):
    """`metadata`: usage and metrics, the stream's last event."""

    usage: TokenUsage
    metrics: Metrics
    trace: Raw = Raw()
    p: str | None = None


class StreamErrorEvent(_Wire):
    """The payload of an exception message (`:message-type` = `exception`)."""

    message: str | None = None
    Message: str | None = None
    original_status_code: int | None = None
    original_message: str | None = None
