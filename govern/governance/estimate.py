"""The worst-case tokens and cost of a request, reserved before the upstream call.

Input tokens:

- `sim` models: exact, by the sim model's own rules (`govern.sim.inputs.openai_prompt`).
- every other model: an upper bound. Every tokenizer the gateway's providers use (the
  byte-level BPEs of OpenAI, Anthropic and Llama-family models, SentencePiece with byte
  fallback) turns text into tokens that each stand for at least one byte of its UTF-8
  encoding, so a text never has more tokens than bytes. Counting one token per byte of
  every string the provider reads (message text, names, tool-call ids, names and
  arguments, tool definitions, the response format's schema), plus a generous
  allowance for the chat template around each message (`MESSAGE_OVERHEAD`), each tool
  (`TOOL_OVERHEAD`) and the request (`REQUEST_OVERHEAD`, which covers the system prompt
  Anthropic adds for tool use) can therefore only overestimate. Media cannot be counted
  by bytes: an image counts `IMAGE_TOKENS` (the most any supported model bills per
  image: gpt-4o-mini at high detail, 2,833 + 8 tiles x 5,667), audio one token per
  byte of its base64 data (above any provider's tokens per second of audio at any
  bitrate above 80 bit/s), and a file (a PDF's pages are billed as images and text)
  the model's whole context window, or `FILE_TOKENS` when that is unknown. The total
  is then capped at the model's context window when known: no call can read more.

Output tokens: the request's `max_completion_tokens`/`max_tokens`, else the model's
maximum output (the catalog's `max_output_tokens`), else a configured default; times
`n`. A default only bounds the output if the upstream is held to it: when the client
set no limit, the pipeline should send `output_limit` upstream (Anthropic and Bedrock
already send the provider's `default_max_tokens`, which is the default to pass here).
For `sim` models the output is exact too: the sim's own replies are computed.

The cost prices every input token at the most expensive input rate of the price (a
provider may write the prompt to its cache) and every output token at the dearer of the
output and reasoning rates, in the long-context tier the input estimate falls in;
for `sim` models (which never cache or reason) it is the exact cost.
"""

from __future__ import annotations

from msgspec import Struct

from govern.catalog import Price, PriceResult, nano_cost
from govern.providers.sim import replies
from govern.sim.inputs import openai_prompt
from govern.usage import Usage
from govern.wire.openai import (
    AssistantMessage,
    AudioPart,
    ChatCompletionRequest,
    ContentPart,
    EmbeddingRequest,
    FilePart,
    ImagePart,
    JSONSchemaResponseFormat,
    Message,
    NamedToolChoice,
    RefusalPart,
    TextPart,
    ToolMessage,
)

MESSAGE_OVERHEAD = 16
"""Tokens allowed for the chat template around one message (OpenAI uses 3 or 4)."""
TOOL_OVERHEAD = 32
"""Tokens allowed for the template around one tool definition or tool call."""
REQUEST_OVERHEAD = 1_024
"""Tokens allowed per request for priming and provider-added system prompts (Anthropic's
tool-use prompt is about 350 tokens)."""
IMAGE_TOKENS = 48_169
"""Tokens counted per image: the most any supported model bills for one image."""
FILE_TOKENS = 1_000_000
"""Tokens counted per file part when the model's context window is unknown."""
DEFAULT_OUTPUT_TOKENS = 4_096
"""Output tokens per choice when neither the request nor the catalog gives a limit."""


class TokenEstimate(Struct, frozen=True, kw_only=True):
    """Worst-case tokens of one call."""

    input_tokens: int
    output_tokens: int
    """For all `n` choices."""
    output_limit: int
    """Per choice: the limit the output estimate assumes (send it upstream when the
    request has none, so the estimate holds)."""
    exact: bool
    """True for `sim` models: the call will use exactly these tokens."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def usage(self) -> Usage:
        """The estimate as a `Usage` (all input uncached, no reasoning)."""
        return Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens)


def _utf8(text: str | None) -> int:
    if not text:
        return 0
    # An ASCII string's length is its byte count; encoding only when it is not saves work.
    return len(text) if text.isascii() else len(text.encode())


def _part_tokens(part: ContentPart, context_window: int | None) -> int:
    if isinstance(part, TextPart):
        return _utf8(part.text)
    if isinstance(part, RefusalPart):
        return _utf8(part.refusal)
    if isinstance(part, ImagePart):
        return IMAGE_TOKENS
    if isinstance(part, AudioPart):
        return len(part.input_audio.data)
    if isinstance(part, FilePart):
        return context_window or FILE_TOKENS
    return 0


def _content_tokens(content: str | list[ContentPart] | None, context_window: int | None) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _utf8(content)
    return sum(_part_tokens(p, context_window) for p in content)


def _message_tokens(message: Message, context_window: int | None) -> int:
    tokens = MESSAGE_OVERHEAD + _content_tokens(message.content, context_window)
    if isinstance(message, ToolMessage):
        return tokens + _utf8(message.tool_call_id)
    tokens += _utf8(message.name)
    if isinstance(message, AssistantMessage):
        tokens += _utf8(message.refusal)
        for call in message.tool_calls or ():
            tokens += TOOL_OVERHEAD + _utf8(call.id) + _utf8(call.function.name)
            tokens += _utf8(call.function.arguments)
    return tokens


def input_bound(request: ChatCompletionRequest, *, context_window: int | None = None) -> int:
    """An upper bound of the input tokens of a chat request, for any tokenizer."""
    tokens = REQUEST_OVERHEAD + sum(_message_tokens(m, context_window) for m in request.messages)
    for tool in request.tools or ():
        function = tool.function
        tokens += TOOL_OVERHEAD + _utf8(function.name) + _utf8(function.description)
        tokens += len(function.parameters)
    if isinstance(request.tool_choice, NamedToolChoice):
        tokens += _utf8(request.tool_choice.function.name)
    if isinstance(request.response_format, JSONSchemaResponseFormat):
        schema = request.response_format.json_schema
        tokens += TOOL_OVERHEAD + _utf8(schema.name) + _utf8(schema.description)
        tokens += len(schema.schema)
    if context_window is not None:
        tokens = min(tokens, context_window)
    return tokens


def estimate_chat(
    request: ChatCompletionRequest,
    *,
    sim: bool = False,
    context_window: int | None = None,
    max_output_tokens: int | None = None,
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> TokenEstimate:
    """Worst-case tokens of a chat request: exact for `sim` models, else an upper bound.

    `context_window` and `max_output_tokens` come from the catalog entry when known;
    `default_output_tokens` is the configured default (for `sim` models: the provider's
    `default_output_tokens`, the number of words the sim writes when no limit is set).
    """
    limit = request.output_limit
    if sim:
        prompt = openai_prompt(request)
        limit = default_output_tokens if limit is None else limit
        if prompt.tools or prompt.json_schema is not None or request.stop:
            # Replies that may differ from the limit (tool calls, JSON, a stop sequence):
            # run the sim's own rules, as the upstream will.
            output = sum(r.output_tokens for r in replies(request, prompt, default_output_tokens))
        else:
            output = limit * (request.n or 1)
        return TokenEstimate(
            input_tokens=prompt.tokens, output_tokens=output, output_limit=limit, exact=True
        )
    if limit is None:
        limit = max_output_tokens if max_output_tokens is not None else default_output_tokens
    return TokenEstimate(
        input_tokens=input_bound(request, context_window=context_window),
        output_tokens=limit * (request.n or 1),
        output_limit=limit,
        exact=False,
    )


def estimate_embedding(request: EmbeddingRequest, *, sim: bool = False) -> TokenEstimate:
    """Worst-case input tokens of an embeddings request (token-id inputs count exactly)."""
    value = request.input
    items: list[str | int | list[int]] = [value] if isinstance(value, str) else list(value)
    tokens = 0
    for item in items:
        if isinstance(item, int):
            tokens += 1
        elif isinstance(item, list):
            tokens += len(item)
        else:
            tokens += len(item.split()) if sim else _utf8(item)
    return TokenEstimate(input_tokens=tokens, output_tokens=0, output_limit=0, exact=sim)


def worst_case_usage(estimate: TokenEstimate, price: Price | PriceResult) -> Usage:
    """The estimate as the dearest `Usage` it could turn out to be at `price`."""
    if estimate.exact:
        return estimate.usage
    if isinstance(price, PriceResult):
        price = price.price
    rates = price.rates_for(estimate.input_tokens)
    n_in, n_out = estimate.input_tokens, estimate.output_tokens
    # Every input token in the dearest input bucket (plain input on a tie).
    buckets = {
        "cache_read_tokens": rates.cache_read,
        "cache_write_5m_tokens": rates.cache_write_5m,
        "cache_write_1h_tokens": rates.cache_write_1h,
    }
    dearest = max(buckets, key=lambda name: buckets[name])
    extra = {dearest: n_in} if buckets[dearest] > rates.input else {}
    reasoning = 0
    if rates.output is not None and rates.reasoning is not None and rates.reasoning > rates.output:
        reasoning = n_out
    return Usage(input_tokens=n_in, output_tokens=n_out, reasoning_tokens=reasoning, **extra)


def estimate_cost_nanos(estimate: TokenEstimate, price: Price | PriceResult) -> int:
    """The worst-case cost of the estimate at `price`, in integer nano-dollars."""
    return nano_cost(worst_case_usage(estimate, price), price).total
