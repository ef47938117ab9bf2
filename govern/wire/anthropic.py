"""msgspec Structs for the Anthropic Messages API (`POST /v1/messages`).

One Struct per wire message; content blocks, sources, tool choices, thinking configs and
stream events are tagged unions on `type`. JSON documents the gateway only forwards
(tool input schemas, tool inputs, citations) stay as `msgspec.Raw`; as in
`govern.wire.openai`, an optional raw field is typed `Raw` with an empty `Raw()` default
meaning "absent", because msgspec cannot decode into `Raw | None`.

Shapes follow Anthropic's API reference (API version `2023-06-01`).
"""

from __future__ import annotations

from typing import Literal

from msgspec import Raw, Struct

from govern.wire.anthropic_errors import ERROR_TYPE_BY_STATUS as ERROR_TYPE_BY_STATUS
from govern.wire.anthropic_errors import STATUS_BY_ERROR_TYPE as STATUS_BY_ERROR_TYPE
from govern.wire.anthropic_errors import ErrorDetail as ErrorDetail
from govern.wire.anthropic_errors import ErrorResponse as ErrorResponse
from govern.wire.anthropic_errors import error_body as error_body
from govern.wire.anthropic_errors import error_type_for_status as error_type_for_status
from govern.wire.anthropic_errors import validation_message as validation_message

API_VERSION = "2023-06-01"
"""The `anthropic-version` header value the gateway sends."""

StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]

# --- shared ------------------------------------------------------------------------------


class CacheControl(Struct, tag_field="type", tag="ephemeral", kw_only=True, omit_defaults=True):
    """A prompt-cache breakpoint: the prefix up to this block is cached."""

    ttl: Literal["5m", "1h"] | None = None


# --- sources -----------------------------------------------------------------------------


class Base64Source(Struct, tag_field="type", tag="base64", kw_only=True):
    """Inline base64 data (images; PDF documents)."""

    media_type: str
    data: str


class URLSource(Struct, tag_field="type", tag="url", kw_only=True):
    """Data the API fetches from a URL."""

    url: str


class FileSource(Struct, tag_field="type", tag="file", kw_only=True):
    """A file uploaded through Anthropic's Files API."""

    file_id: str


class PlainTextSource(Struct, tag_field="type", tag="text", kw_only=True):
    """A plain-text document."""

    data: str
    media_type: Literal["text/plain"] = "text/plain"


class ContentSource(Struct, tag_field="type", tag="content", kw_only=True):
    """A document made of content blocks."""

    content: str | list[TextBlock | ImageBlock]


ImageSource = Base64Source | URLSource | FileSource
DocumentSource = Base64Source | PlainTextSource | ContentSource | URLSource | FileSource

# --- content blocks ----------------------------------------------------------------------


class TextBlock(Struct, tag_field="type", tag="text", kw_only=True, omit_defaults=True):
    """Text, in a request or a response."""

    text: str
    cache_control: CacheControl | None = None
    citations: Raw = Raw()


class ImageBlock(Struct, tag_field="type", tag="image", kw_only=True, omit_defaults=True):
    """An image given inline, by URL or by file id."""

    source: ImageSource
    cache_control: CacheControl | None = None


class DocumentBlock(Struct, tag_field="type", tag="document", kw_only=True, omit_defaults=True):
    """A document (PDF, plain text or content blocks)."""

    source: DocumentSource
    title: str | None = None
    context: str | None = None
    citations: Raw = Raw()
    cache_control: CacheControl | None = None


class ToolUseBlock(Struct, tag_field="type", tag="tool_use", kw_only=True, omit_defaults=True):
    """A call of a client tool; `input` is a JSON object."""

    id: str
    name: str
    input: Raw
    cache_control: CacheControl | None = None


class ToolResultBlock(
    Struct, tag_field="type", tag="tool_result", kw_only=True, omit_defaults=True
):
    """The result of a tool call, sent back in a user turn."""

    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(Struct, tag_field="type", tag="thinking", kw_only=True):
    """Extended-thinking output; passed back unchanged in later turns.

    The `content_block_start` of a streamed thinking block has no signature yet.
    """

    thinking: str
    signature: str = ""


class RedactedThinkingBlock(Struct, tag_field="type", tag="redacted_thinking", kw_only=True):
    """Encrypted thinking output."""

    data: str


ContentBlock = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
)
"""Blocks a request may carry."""

ResponseBlock = TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock
"""Blocks the model generates."""

# --- tools -------------------------------------------------------------------------------


class ToolDefinition(Struct, kw_only=True, omit_defaults=True):
    """A client tool: a name and the JSON Schema of its input."""

    name: str
    input_schema: Raw
    description: str | None = None
    cache_control: CacheControl | None = None
    strict: bool | None = None
    type: Literal["custom"] | None = None


class ToolChoiceAuto(Struct, tag_field="type", tag="auto", kw_only=True, omit_defaults=True):
    """The model decides whether to call tools."""

    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(Struct, tag_field="type", tag="any", kw_only=True, omit_defaults=True):
    """The model must call some tool."""

    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(Struct, tag_field="type", tag="tool", kw_only=True, omit_defaults=True):
    """The model must call the named tool."""

    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(Struct, tag_field="type", tag="none", kw_only=True):
    """The model must not call tools."""


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone

# --- request -----------------------------------------------------------------------------


class MessageParam(Struct, kw_only=True, omit_defaults=True):
    """One conversation turn."""

    role: Literal["user", "assistant", "system"]
    content: str | list[ContentBlock]


class Metadata(Struct, kw_only=True, omit_defaults=True):
    """Request metadata; `user_id` is an opaque id of the end user."""

    user_id: str | None = None


class ThinkingEnabled(Struct, tag_field="type", tag="enabled", kw_only=True, omit_defaults=True):
    """Extended thinking with a token budget."""

    budget_tokens: int
    display: Literal["summarized", "omitted"] | None = None


class ThinkingDisabled(Struct, tag_field="type", tag="disabled", kw_only=True):
    """No extended thinking."""


class ThinkingAdaptive(Struct, tag_field="type", tag="adaptive", kw_only=True):
    """The model decides when and how much to think."""


ThinkingConfig = ThinkingEnabled | ThinkingDisabled | ThinkingAdaptive


class JSONOutputFormat(Struct, tag_field="type", tag="json_schema", kw_only=True):
    """Structured output: the answer is JSON following `schema`."""

    schema: Raw


class OutputConfig(Struct, kw_only=True, omit_defaults=True):
    """Output settings: a structured-output format and an effort level."""

    format: JSONOutputFormat | None = None
    effort: str | None = None


class MessagesRequest(Struct, kw_only=True, omit_defaults=True):
    """`POST /v1/messages` body. `max_tokens` is required, as the API requires it."""

    model: str
    messages: list[MessageParam]
    max_tokens: int
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoice | None = None
    metadata: Metadata | None = None
    stream: bool | None = None
    thinking: ThinkingConfig | None = None
    output_config: OutputConfig | None = None
    service_tier: str | None = None


# --- response ----------------------------------------------------------------------------


class CacheCreation(Struct, kw_only=True):
    """Cache-write tokens by lifetime."""

    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class OutputTokensDetails(Struct, kw_only=True):
    """Breakdown of output tokens; thinking tokens are included in `output_tokens`."""

    thinking_tokens: int = 0


class MessageUsage(Struct, kw_only=True, omit_defaults=True):
    """Token usage. `input_tokens` EXCLUDES cache reads and cache writes.

    In a `message_delta` event every field is a cumulative total and `input_tokens` and
    the cache fields are optional; in a response they are all present.
    """

    input_tokens: int | None = None
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None
    output_tokens_details: OutputTokensDetails | None = None
    service_tier: str | None = None


class Message(Struct, tag_field="type", tag="message", kw_only=True):
    """`POST /v1/messages` response (and the skeleton in `message_start`)."""

    id: str
    model: str
    content: list[ResponseBlock]
    usage: MessageUsage
    role: Literal["assistant"] = "assistant"
    stop_reason: str | None = None
    """A `StopReason`; typed `str` so that a reason added later does not break decoding."""
    stop_sequence: str | None = None


# --- stream events -----------------------------------------------------------------------


class MessageStartEvent(Struct, tag_field="type", tag="message_start", kw_only=True):
    """First event: the message with empty content and the input usage."""

    message: Message


class ContentBlockStartEvent(Struct, tag_field="type", tag="content_block_start", kw_only=True):
    """A content block opens at `index` (text empty, tool input `{}`)."""

    index: int
    content_block: ResponseBlock


class TextDelta(Struct, tag_field="type", tag="text_delta", kw_only=True):
    """More text."""

    text: str


class InputJSONDelta(Struct, tag_field="type", tag="input_json_delta", kw_only=True):
    """A fragment of a tool call's input JSON."""

    partial_json: str


class ThinkingDelta(Struct, tag_field="type", tag="thinking_delta", kw_only=True):
    """More thinking text."""

    thinking: str


class SignatureDelta(Struct, tag_field="type", tag="signature_delta", kw_only=True):
    """The signature closing a thinking block."""

    signature: str


class CitationsDelta(Struct, tag_field="type", tag="citations_delta", kw_only=True):
    """A citation attached to the current text block."""

    citation: Raw


BlockDelta = TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta


class ContentBlockDeltaEvent(Struct, tag_field="type", tag="content_block_delta", kw_only=True):
    """New content for the block at `index`."""

    index: int
    delta: BlockDelta


class ContentBlockStopEvent(Struct, tag_field="type", tag="content_block_stop", kw_only=True):
    """The block at `index` is complete."""

    index: int


class MessageDelta(Struct, kw_only=True):
    """Top-level changes of the message: why it stopped (a `StopReason`)."""

    stop_reason: str | None = None
    stop_sequence: str | None = None


class MessageDeltaEvent(Struct, tag_field="type", tag="message_delta", kw_only=True):
    """The stop reason and the cumulative usage."""

    delta: MessageDelta
    usage: MessageUsage


class MessageStopEvent(Struct, tag_field="type", tag="message_stop", kw_only=True):
    """Last event of a complete stream."""


class PingEvent(Struct, tag_field="type", tag="ping", kw_only=True):
    """Keep-alive."""


StreamEvent = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
    | PingEvent
    | ErrorResponse
)
