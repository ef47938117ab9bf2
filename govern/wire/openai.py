"""msgspec Structs for the OpenAI API: the gateway's own wire surface.

One Struct per wire message. JSON Schema documents (tool parameters, response formats)
stay as `msgspec.Raw`: the gateway forwards them, it never needs to look inside.

msgspec cannot decode a JSON value into `Raw | None` (msgspec issue #659: only `null`
is accepted), so optional raw fields are typed `Raw` with an empty `Raw()` default
meaning "absent" (falsy, and omitted on encode where defaults are omitted). Constant
discriminators (`object`, tool `type`) are struct tags, so `omit_defaults` never drops them.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Raw, Struct

# --- content parts -----------------------------------------------------------------------


class TextPart(Struct, tag_field="type", tag="text", kw_only=True, omit_defaults=True):
    """A text content part."""

    text: str


class ImageURL(Struct, kw_only=True, omit_defaults=True):
    """An image reference: an https URL or a `data:` URL with base64 content."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(Struct, tag_field="type", tag="image_url", kw_only=True, omit_defaults=True):
    """An image content part."""

    image_url: ImageURL


class InputAudio(Struct, kw_only=True, omit_defaults=True):
    """Base64 audio input."""

    data: str
    format: str


class AudioPart(Struct, tag_field="type", tag="input_audio", kw_only=True, omit_defaults=True):
    """An audio content part."""

    input_audio: InputAudio


class FileRef(Struct, kw_only=True, omit_defaults=True):
    """A file given inline (`file_data`) or by id."""

    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(Struct, tag_field="type", tag="file", kw_only=True, omit_defaults=True):
    """A file content part."""

    file: FileRef


class RefusalPart(Struct, tag_field="type", tag="refusal", kw_only=True, omit_defaults=True):
    """A refusal part in an assistant message."""

    refusal: str


ContentPart = TextPart | ImagePart | AudioPart | FilePart | RefusalPart

# --- tools -------------------------------------------------------------------------------


class FunctionDefinition(Struct, kw_only=True, omit_defaults=True):
    """A function the model may call."""

    name: str
    description: str | None = None
    parameters: Raw = Raw()
    strict: bool | None = None


class Tool(Struct, tag_field="type", tag="function", kw_only=True, omit_defaults=True):
    """A tool the model may call (only functions exist in Chat Completions)."""

    function: FunctionDefinition


class FunctionCall(Struct, kw_only=True, omit_defaults=True):
    """The name and JSON-encoded arguments of a function call."""

    name: str
    arguments: str


class ToolCall(Struct, tag_field="type", tag="function", kw_only=True, omit_defaults=True):
    """A tool call made by the model."""

    id: str
    function: FunctionCall


class ToolChoiceFunction(Struct, kw_only=True):
    """The function named in a forced tool choice."""

    name: str


class NamedToolChoice(Struct, kw_only=True):
    """`tool_choice` forcing one function."""

    function: ToolChoiceFunction
    type: Literal["function"] = "function"


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice

# --- messages ----------------------------------------------------------------------------


class SystemMessage(Struct, tag_field="role", tag="system", kw_only=True, omit_defaults=True):
    """A system prompt."""

    content: str | list[ContentPart]
    name: str | None = None


class DeveloperMessage(Struct, tag_field="role", tag="developer", kw_only=True, omit_defaults=True):
    """A developer prompt (the newer name for system prompts on OpenAI)."""

    content: str | list[ContentPart]
    name: str | None = None


class UserMessage(Struct, tag_field="role", tag="user", kw_only=True, omit_defaults=True):
    """A user turn: text, images, audio or files."""

    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(Struct, tag_field="role", tag="assistant", kw_only=True, omit_defaults=True):
    """A previous assistant turn, possibly with tool calls."""

    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    name: str | None = None


class ToolMessage(Struct, tag_field="role", tag="tool", kw_only=True, omit_defaults=True):
    """The result of a tool call."""

    content: str | list[ContentPart]
    tool_call_id: str


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage

# --- request -----------------------------------------------------------------------------


class StreamOptions(Struct, kw_only=True, omit_defaults=True):
    """Streaming options; `include_usage` adds a final usage chunk."""

    include_usage: bool | None = None


class JSONSchemaFormat(Struct, kw_only=True, omit_defaults=True):
    """A named JSON Schema for structured output."""

    name: str
    description: str | None = None
    schema: Raw = Raw()
    strict: bool | None = None


class TextFormat(Struct, tag_field="type", tag="text", kw_only=True):
    """Plain text output."""


class JSONObjectFormat(Struct, tag_field="type", tag="json_object", kw_only=True):
    """JSON mode: any JSON object."""


class JSONSchemaResponseFormat(
    Struct, tag_field="type", tag="json_schema", kw_only=True, omit_defaults=True
):
    """Structured output following a JSON Schema."""

    json_schema: JSONSchemaFormat


ResponseFormat = TextFormat | JSONObjectFormat | JSONSchemaResponseFormat


class ChatCompletionRequest(Struct, kw_only=True, omit_defaults=True):
    """`POST /v1/chat/completions` body.

    `fallbacks` is the gateway's own field: models tried in order when the primary fails
    with a retryable error. It is never sent upstream.
    """

    model: str
    messages: list[Message]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    seed: int | None = None
    user: str | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: str | None = None
    fallbacks: list[str] | None = None

    @property
    def output_limit(self) -> int | None:
        """The caller's cap on generated tokens (`max_completion_tokens` wins)."""
        if self.max_completion_tokens is not None:
            return self.max_completion_tokens
        return self.max_tokens


# --- response ----------------------------------------------------------------------------


class PromptTokensDetails(Struct, kw_only=True, omit_defaults=True):
    """Breakdown of prompt tokens; `cached_tokens` are included in `prompt_tokens`."""

    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(Struct, kw_only=True, omit_defaults=True):
    """Breakdown of completion tokens; `reasoning_tokens` are included in them."""

    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class CompletionUsage(Struct, kw_only=True, omit_defaults=True):
    """Token usage as OpenAI reports it."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    cost_usd: str | None = None
    """The gateway's own field on the final usage chunk of a stream: the call's exact cost
    in dollars, as `x-govern-cost-usd` would give it (absent when unpriced)."""


class ResponseMessage(Struct, kw_only=True, omit_defaults=False):
    """The assistant message of a choice."""

    content: str | None = None
    role: Literal["assistant"] = "assistant"
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
"""The reasons OpenAI defines; decoded fields take any string, since compatible servers
send others (`eos`, `error`) and the gateway passes them through."""


class Choice(Struct, kw_only=True, omit_defaults=False):
    """One generated alternative."""

    index: int
    message: ResponseMessage
    finish_reason: str | None = None
    logprobs: Raw = Raw(b"null")


class ChatCompletion(
    Struct, tag_field="object", tag="chat.completion", kw_only=True, omit_defaults=True
):
    """`POST /v1/chat/completions` response."""

    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


class FunctionCallDelta(Struct, kw_only=True, omit_defaults=True):
    """A fragment of a streamed function call."""

    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(Struct, kw_only=True, omit_defaults=True):
    """A fragment of a streamed tool call; `id` and `name` come in the first one."""

    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionCallDelta | None = None


class Delta(Struct, kw_only=True, omit_defaults=True):
    """The new content carried by a stream chunk."""

    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(Struct, kw_only=True, omit_defaults=True):
    """One choice's delta in a stream chunk."""

    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: Raw = Raw()


class ChatCompletionChunk(
    Struct, tag_field="object", tag="chat.completion.chunk", kw_only=True, omit_defaults=True
):
    """One `data:` event of a streamed chat completion."""

    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


# --- embeddings --------------------------------------------------------------------------


class EmbeddingRequest(Struct, kw_only=True, omit_defaults=True):
    """`POST /v1/embeddings` body."""

    model: str
    input: str | list[str | int | list[int]]
    """Text, texts, token ids, or lists of token ids (checked to be one kind)."""
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = None
    user: str | None = None


class Embedding(Struct, kw_only=True):
    """One embedding vector (or its base64 encoding)."""

    index: int
    embedding: list[float] | str
    object: Literal["embedding"] = "embedding"


class EmbeddingUsage(Struct, kw_only=True):
    """Token usage of an embeddings call."""

    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(Struct, kw_only=True):
    """`POST /v1/embeddings` response."""

    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
    object: Literal["list"] = "list"


# --- models and errors -------------------------------------------------------------------


class Model(Struct, kw_only=True):
    """An entry of `GET /v1/models`."""

    id: str
    created: int
    owned_by: str
    object: Literal["model"] = "model"


class ModelList(Struct, kw_only=True):
    """`GET /v1/models` response."""

    data: list[Model]
    object: Literal["list"] = "list"


class ErrorDetail(Struct, kw_only=True):
    """The body of an OpenAI-shaped error."""

    message: str
    type: str
    code: str | None = None
    param: str | None = None


class ErrorResponse(Struct, kw_only=True):
    """`{"error": {...}}`, the shape of every error the gateway returns."""

    error: ErrorDetail
