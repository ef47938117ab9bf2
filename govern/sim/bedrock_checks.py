"""What the simulated Bedrock checks in a Converse body, and what the sim model reads.

The messages follow the wording of Bedrock's ValidationException messages.
"""

from __future__ import annotations

import re

from msgspec import Raw

from govern.providers import bedrock_wire as bw
from govern.sim.engine import SimTool, count_tokens
from govern.sim.inputs import SimPrompt

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_BLOCK_MEMBERS = (
    "text",
    "image",
    "tool_use",
    "tool_result",
    "document",
    "video",
    "cache_point",
    "guard_content",
    "reasoning_content",
    "citations_content",
)


def _constraint(value: object, where: str, rule: str) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
        f"constraint: Member must {rule}"
    )


def converse_errors(request: bw.ConverseRequest) -> str | None:
    """The ValidationException message for a Converse body, or None if it is valid."""
    if request.messages is None:
        return (
            "1 validation error detected: Value null at 'messages' failed to satisfy "
            "constraint: Member must not be null"
        )
    return (
        _inference_errors(request.inference_config)
        or _tool_config_errors(request.tool_config)
        or _system_errors(request.system or [])
        or _message_errors(request.messages, request.tool_config is not None)
    )


def _inference_errors(config: bw.InferenceConfig | None) -> str | None:
    if config is None:
        return None
    if config.max_tokens is not None and config.max_tokens < 1:
        return _constraint(
            config.max_tokens, "inferenceConfig.maxTokens", "have value greater than or equal to 1"
        )
    for name, value in (("temperature", config.temperature), ("topP", config.top_p)):
        if value is not None and not 0 <= value <= 1:
            bound = "less than or equal to 1" if value > 1 else "greater than or equal to 0"
            return _constraint(value, f"inferenceConfig.{name}", f"have value {bound}")
    return None


def _tool_config_errors(config: bw.ToolConfig | None) -> str | None:
    if config is None:
        return None
    if not config.tools:
        return _constraint("[]", "toolConfig.tools", "have length greater than or equal to 1")
    names = []
    for i, tool in enumerate(config.tools, start=1):
        spec = tool.tool_spec
        if spec is None:
            continue
        if not _TOOL_NAME.fullmatch(spec.name) or len(spec.name) > 64:
            return _constraint(
                spec.name,
                f"toolConfig.tools.{i}.member.toolSpec.name",
                "satisfy regular expression pattern: [a-zA-Z0-9_-]+",
            )
        names.append(spec.name)
    choice = config.tool_choice
    if choice is not None and choice.tool is not None and choice.tool.name not in names:
        return f"The tool {choice.tool.name} in toolChoice is not defined in toolConfig.tools."
    return None


def _system_errors(system: list[bw.SystemBlock]) -> str | None:
    for i, block in enumerate(system):
        if block.text is not None and not block.text.strip():
            return (
                f"The text field in the SystemContentBlock object at system.{i} is blank. "
                "Add text to the text field, and try again."
            )
    return None


def _message_errors(messages: list[bw.Message], has_tools: bool) -> str | None:
    if not messages or messages[0].role != "user":
        return (
            "A conversation must start with a user message. Try again with a "
            "conversation that starts with a user message."
        )
    previous_uses: set[str] = set()
    for i, message in enumerate(messages):
        if i and message.role == messages[i - 1].role:
            return (
                "A conversation must alternate between user and assistant roles. Make "
                "sure the conversation alternates between user and assistant roles and "
                "try again."
            )
        if not message.content:
            return (
                f"The content field in the Message object at messages.{i} is empty. Add a "
                "ContentBlock object to the content field and try again."
            )
        uses: set[str] = set()
        for j, block in enumerate(message.content):
            where = f"messages.{i}.content.{j}"
            error = _block_errors(block, where, message.role, has_tools)
            if error:
                return error
            if block.tool_use is not None:
                uses.add(block.tool_use.tool_use_id)
            if block.tool_result is not None and (
                block.tool_result.tool_use_id not in previous_uses
            ):
                return (
                    f"The toolResult block at {where} references toolUseId "
                    f"{block.tool_result.tool_use_id}, which no toolUse block of the "
                    "previous turn has."
                )
        answered = {b.tool_result.tool_use_id for b in message.content if b.tool_result}
        if previous_uses - answered:
            return (
                f"Expected toolResult blocks at messages.{i}.content for the following "
                f"Ids: {', '.join(sorted(previous_uses - answered))}"
            )
        previous_uses = uses
    return None


def _block_errors(block: bw.ContentBlock, where: str, role: str, has_tools: bool) -> str | None:
    members = [m for m in _BLOCK_MEMBERS if _is_set(getattr(block, m))]
    if len(members) != 1:
        return (
            f"The ContentBlock object at {where} must set exactly one member; "
            f"it sets {len(members)}."
        )
    if block.text is not None and not block.text.strip():
        return (
            f"The text field in the ContentBlock object at {where} is blank. Add text to "
            "the text field, and try again."
        )
    if (block.tool_use or block.tool_result) and not has_tools:
        return (
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    if block.tool_use is not None and role != "assistant":
        return f"The toolUse block at {where} is only allowed in an assistant message."
    if block.tool_result is not None and role != "user":
        return f"The toolResult block at {where} is only allowed in a user message."
    if block.image is not None and block.image.format not in IMAGE_FORMATS:
        return _constraint(
            block.image.format,
            f"{where}.member.image.format",
            "satisfy enum value set: [png, jpeg, gif, webp]",
        )
    return None


def _is_set(value: object) -> bool:
    # Optional raw members are absent as the empty (falsy) `Raw()`.
    return value is not None and not (isinstance(value, Raw) and not value)


def _block_text(block: bw.ContentBlock) -> str:
    if block.text is not None:
        return block.text
    if block.tool_use is not None:
        return f"{block.tool_use.name} {bytes(block.tool_use.input).decode()}"
    if block.tool_result is not None:
        return " ".join(
            c.text if c.text is not None else bytes(c.json).decode() if c.json else ""
            for c in block.tool_result.content
        )
    return ""


def converse_prompt(request: bw.ConverseRequest) -> SimPrompt:
    """The sim model's view of a (valid) Converse request."""
    texts = [b.text for b in request.system or [] if b.text]
    texts += [_block_text(b) for m in request.messages or [] for b in m.content]
    texts = [t for t in texts if t]
    last = (request.messages or [])[-1]
    last_user: str | None = None
    if last.role == "user" and not any(b.tool_result for b in last.content):
        last_user = " ".join(b.text for b in last.content if b.text) or None
    tools: list[SimTool] = []
    forced: str | None = None
    if request.tool_config is not None:
        tools = [
            SimTool(name=t.tool_spec.name, schema=bytes(t.tool_spec.input_schema.json))
            for t in request.tool_config.tools
            if t.tool_spec is not None
        ]
        choice = request.tool_config.tool_choice
        if choice is not None and choice.any is not None:
            forced = "*"
        elif choice is not None and choice.tool is not None:
            forced = choice.tool.name
    return SimPrompt(
        text="\n".join(texts),
        tokens=sum(count_tokens(t) for t in texts),
        last_user_text=last_user,
        tools=tools,
        forced_tool=forced,
        json_schema=None,
    )
