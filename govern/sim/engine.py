"""The deterministic model behind the `sim` provider and the simulated upstreams.

Rules (documented in docs/sim.md, relied on by tests and by exact cost estimates):
- a token is a whitespace-separated word; the prompt's tokens are the words of every text
  part, tool-call name and arguments in the messages (images and audio count 0);
- the answer has exactly the requested output limit in words (or the default), so
  `completion_tokens` is the limit, times `n` choices; `finish_reason` is `length` when
  the client set the limit, `stop` otherwise;
- a stop sequence cuts the answer before its first occurrence (`finish_reason` `stop`);
- with tools, the model calls one when `tool_choice` is `required` or names a function,
  or when it is `auto`/unset and the last message is a user turn naming a tool; the call's
  arguments fill the schema's properties with placeholders by type;
- the same request always gets the same answer; different prompts, seeds and choice
  indexes pick different words.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import msgspec

_TEXT = (
    "the gateway answers every question with words chosen from a fixed list so "
    "that tests and replays know exactly how many tokens come back and what they "
    "cost budgets hold caches hit and logs record each call while teams watch "
    "spend in notebooks across providers models keys and windows"
)
VOCABULARY: tuple[str, ...] = tuple(_TEXT.split())


MAX_OUTPUT_TOKENS = 131_072
"""The most words the sim writes for one request, all choices together; like a real
model's maximum output, a request asking for more is refused (400)."""


def output_too_large(limit: int | None, default_limit: int, n: int) -> str | None:
    """Why a request asks for more output than the sim writes, or None if it does not."""
    total = (default_limit if limit is None else limit) * n
    if total <= MAX_OUTPUT_TOKENS:
        return None
    return (
        f"max_tokens is too large: {limit} x n={n} = {total} tokens. This model supports "
        f"at most {MAX_OUTPUT_TOKENS} completion tokens per request."
    )


def count_tokens(text: str) -> int:
    """Tokens in `text`: its whitespace-separated words."""
    return len(text.split())


@dataclass(frozen=True, slots=True)
class SimToolCall:
    """A tool call the sim decided to make."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class SimReply:
    """One generated choice."""

    text: str
    """The answer text ("" for a tool call)."""
    words: list[str]
    """The answer split into the chunks a stream sends (a word and its trailing space)."""
    tool_call: SimToolCall | None
    finish_reason: str
    """`stop`, `length` or `tool_calls` (OpenAI's names)."""
    output_tokens: int


@dataclass(frozen=True, slots=True)
class SimTool:
    """A tool as the sim sees it: its name and its JSON Schema's properties."""

    name: str
    schema: bytes | None


def generate(
    *,
    prompt_text: str,
    limit: int | None,
    default_limit: int,
    index: int = 0,
    seed: int | None = None,
    stop: list[str] | None = None,
    tools: list[SimTool] | None = None,
    forced_tool: str | None = None,
    last_user_text: str | None = None,
    json_schema: bytes | None = None,
) -> SimReply:
    """Generate one choice for a prompt.

    `forced_tool` is a tool name, `"*"` for "any tool" (`required`), or None (`auto`:
    call a tool only if `last_user_text`, the last message when it is a user turn, names
    one). With a `json_schema` the answer is a JSON object of placeholders.
    """
    if tools:
        chosen = _pick_tool(tools, forced_tool, last_user_text)
        if chosen is not None:
            arguments = _placeholder_json(chosen.schema)
            call_id = "call_" + format(zlib.crc32(f"{prompt_text}|{index}".encode()), "08x")
            return SimReply(
                text="",
                words=[],
                tool_call=SimToolCall(id=call_id, name=chosen.name, arguments=arguments),
                finish_reason="tool_calls",
                output_tokens=count_tokens(chosen.name + " " + arguments),
            )
    n = default_limit if limit is None else limit
    if n > MAX_OUTPUT_TOKENS:  # callers check first; this keeps memory bounded regardless
        raise ValueError(output_too_large(limit, default_limit, 1))
    if json_schema is not None:
        text = _placeholder_json(json_schema)
        return SimReply(
            text=text,
            words=[text],
            tool_call=None,
            finish_reason="stop",
            output_tokens=count_tokens(text),
        )
    offset = zlib.crc32(f"{prompt_text}|{seed}|{index}".encode()) % len(VOCABULARY)
    size = len(VOCABULARY)
    words = [VOCABULARY[(offset + i) % size] for i in range(n)]
    finish = "length" if limit is not None else "stop"
    if stop:
        text = " ".join(words)
        cut = min((p for p in (text.find(s) for s in stop if s) if p >= 0), default=-1)
        if cut >= 0:
            words = text[:cut].split()
            finish = "stop"
    chunks = [w + " " for w in words[:-1]] + words[-1:]
    return SimReply(
        text="".join(chunks),
        words=chunks,
        tool_call=None,
        finish_reason=finish,
        output_tokens=len(words),
    )


def _pick_tool(tools: list[SimTool], forced: str | None, last_user: str | None) -> SimTool | None:
    if forced == "*":
        return tools[0]
    if forced is not None:
        return next((t for t in tools if t.name == forced), None)
    if not last_user:
        return None
    words = {w.strip(".,;:!?()'\"`") for w in last_user.split()}
    return next((t for t in tools if t.name in words), None)


_PLACEHOLDERS: dict[str, object] = {
    "string": "sim",
    "integer": 0,
    "number": 0,
    "boolean": False,
    "array": [],
    "object": {},
    "null": None,
}


def _placeholder_json(schema: bytes | None) -> str:
    """A JSON object whose properties are placeholders of each property's type."""
    if not schema:
        return "{}"
    try:
        parsed = msgspec.json.decode(schema)
    except msgspec.DecodeError:
        return "{}"
    props = parsed.get("properties", {}) if isinstance(parsed, dict) else {}
    value = {}
    for name, spec in props.items():
        kind = spec.get("type", "string") if isinstance(spec, dict) else "string"
        if isinstance(kind, list):
            kind = kind[0] if kind else "string"
        value[name] = _PLACEHOLDERS.get(kind, "sim")
    return msgspec.json.encode(value).decode()


def embedding(text: str, dimensions: int = 64) -> list[float]:
    """A deterministic unit vector for `text` (no meaning; stable across processes)."""
    raw = b"".join(
        zlib.crc32(f"{text}|{i}".encode()).to_bytes(4, "little") for i in range(dimensions)
    )
    values = [(b - 127.5) / 127.5 for b in raw[:dimensions]]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]
