"""Request validation of the simulated Anthropic upstream, in the real API's words."""

from __future__ import annotations

import msgspec

from govern.wire import anthropic as a

_FIELDS = frozenset(a.MessagesRequest.__struct_fields__)
# Fields the real API accepts that the sim does not act on.
_ACCEPTED = frozenset(
    {
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "speed",
        "user_profile_id",
        "workspace_id",
    }
)
_REQUEST = msgspec.json.Decoder(a.MessagesRequest)
_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


class SimInvalid(Exception):
    """A request the real API would answer with 400 `invalid_request_error`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def check_request(body: bytes) -> a.MessagesRequest:
    """The decoded request, or SimInvalid with the message Anthropic would send."""
    try:
        fields = _TOP_LEVEL.decode(body)
    except msgspec.ValidationError:
        raise SimInvalid("request body must be a JSON object") from None
    except msgspec.DecodeError as exc:
        raise SimInvalid(f"There was an issue with the request body: {exc}") from None
    for name in fields:
        if name not in _FIELDS and name not in _ACCEPTED:
            raise SimInvalid(f"{name}: Extra inputs are not permitted")
    try:
        req = _REQUEST.decode(body)
    except msgspec.ValidationError as exc:
        raise SimInvalid(a.validation_message(exc)) from None
    _check_ranges(req)
    _check_conversation(req)
    return req


def _check_ranges(req: a.MessagesRequest) -> None:
    if req.max_tokens < 1:
        raise SimInvalid("max_tokens: Input should be greater than or equal to 1")
    for name in ("temperature", "top_p"):
        value = getattr(req, name)
        if value is not None and not 0 <= value <= 1:
            bound = "less than or equal to 1" if value > 1 else "greater than or equal to 0"
            raise SimInvalid(f"{name}: Input should be {bound}")
    choice = req.tool_choice
    if isinstance(choice, a.ToolChoiceAny | a.ToolChoiceTool) and not req.tools:
        raise SimInvalid("tool_choice: tool_choice may only be specified while providing tools")
    names = {t.name for t in req.tools or ()}
    if isinstance(choice, a.ToolChoiceTool) and choice.name not in names:
        raise SimInvalid(f"tool_choice.name: tool {choice.name!r} is not among `tools`")
    thinking = req.thinking
    if isinstance(thinking, a.ThinkingEnabled):
        if thinking.budget_tokens < 1024:
            raise SimInvalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            )
        if thinking.budget_tokens >= req.max_tokens:
            raise SimInvalid("`max_tokens` must be greater than `thinking.budget_tokens`")


def _check_conversation(req: a.MessagesRequest) -> None:
    turns = [(i, m) for i, m in enumerate(req.messages) if m.role != "system"]
    if not turns:
        raise SimInvalid("messages: at least one message is required")
    if turns[0][1].role != "user":
        raise SimInvalid('messages: first message must use the "user" role')
    last = len(req.messages) - 1
    pending: tuple[int, list[str]] | None = None
    for i, message in enumerate(req.messages):
        content = message.content
        if not content and not (i == last and message.role == "assistant"):
            raise SimInvalid(
                f"messages.{i}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
        blocks = [] if isinstance(content, str) else content
        for j, block in enumerate(blocks):
            _check_block(block, f"messages.{i}.content.{j}")
        results = [b.tool_use_id for b in blocks if isinstance(b, a.ToolResultBlock)]
        if pending is not None:
            missing = [t for t in pending[1] if t not in results]
            if missing:
                raise SimInvalid(
                    f"messages.{pending[0]}: `tool_use` ids were found without `tool_result` "
                    f"blocks immediately after: {', '.join(missing)}. Each `tool_use` block "
                    "must have a corresponding `tool_result` block in the next message."
                )
        expected = pending[1] if pending is not None else []
        for j, block in enumerate(blocks):
            if isinstance(block, a.ToolResultBlock) and block.tool_use_id not in expected:
                raise SimInvalid(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                    f"`tool_result` blocks: {block.tool_use_id}. Each `tool_result` block "
                    "must have a corresponding `tool_use` block in the previous message."
                )
        uses = [b.id for b in blocks if isinstance(b, a.ToolUseBlock)]
        pending = (i, uses) if message.role == "assistant" and uses else None


def _check_block(block: a.ContentBlock, where: str) -> None:
    if isinstance(block, a.TextBlock) and not block.text:
        raise SimInvalid(f"{where}.text: text content blocks must be non-empty")
    source = block.source if isinstance(block, a.ImageBlock) else None
    if isinstance(source, a.Base64Source) and source.media_type not in _IMAGE_TYPES:
        allowed = ", ".join(f"'{t}'" for t in _IMAGE_TYPES)
        raise SimInvalid(f"{where}.source.base64.media_type: Input should be {allowed}")
    if isinstance(block, a.ToolUseBlock):
        try:
            value = msgspec.json.decode(bytes(block.input))
        except msgspec.DecodeError:
            value = None
        if not isinstance(value, dict):
            raise SimInvalid(f"{where}.input: Input should be a valid dictionary")
