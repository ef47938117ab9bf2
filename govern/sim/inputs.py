"""What the sim model reads from an OpenAI-shaped request."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from govern.sim.engine import SimTool, count_tokens
from govern.wire.openai import (
    AssistantMessage,
    ChatCompletionRequest,
    ContentPart,
    JSONSchemaResponseFormat,
    Message,
    NamedToolChoice,
    TextPart,
    UserMessage,
)


@dataclass(frozen=True, slots=True)
class SimPrompt:
    """The parts of a request the sim model's rules look at."""

    text: str
    tokens: int
    last_user_text: str | None
    tools: list[SimTool]
    forced_tool: str | None
    json_schema: bytes | None


def _text(content: str | list[ContentPart] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return " ".join(p.text for p in content if isinstance(p, TextPart))


def _raw(value: msgspec.Raw) -> bytes | None:
    return bytes(value) or None  # an empty Raw means the field was absent


def message_text(message: Message) -> str:
    """The words of one message the sim tokenizer counts."""
    text = _text(message.content)
    if isinstance(message, AssistantMessage) and message.tool_calls:
        calls = " ".join(f"{c.function.name} {c.function.arguments}" for c in message.tool_calls)
        text = f"{text} {calls}" if text else calls
    return text


def openai_prompt(request: ChatCompletionRequest) -> SimPrompt:
    """The sim model's view of an OpenAI chat request."""
    texts = [message_text(m) for m in request.messages]
    text = "\n".join(texts)
    last = request.messages[-1] if request.messages else None
    last_user = texts[-1] if isinstance(last, UserMessage) else None
    tools = [
        SimTool(name=t.function.name, schema=_raw(t.function.parameters))
        for t in request.tools or []
    ]
    forced: str | None = None
    choice = request.tool_choice
    if choice == "none":
        tools = []
    elif choice == "required":
        forced = "*"
    elif isinstance(choice, NamedToolChoice):
        forced = choice.function.name
    schema: bytes | None = None
    fmt = request.response_format
    if isinstance(fmt, JSONSchemaResponseFormat):
        schema = _raw(fmt.json_schema.schema) or b"{}"
    return SimPrompt(
        text=text,
        tokens=sum(count_tokens(t) for t in texts),
        last_user_text=last_user,
        tools=tools,
        forced_tool=forced,
        json_schema=schema,
    )
