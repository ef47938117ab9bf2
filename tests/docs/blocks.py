"""Fenced code blocks of the documentation pages, as the tutorial tests run them.

A block's info string is its language and optional attributes, as MkDocs Material reads
them: ```` ```python title="needs an OpenAI key" ````. The tests give titles meaning:

- `title="govern.toml"` (any title that is a file name): the block is that file's content;
  the test writes it to the working directory.
- `title="output"`: what the block before it prints; the test compares (`...` matches
  anything).
- `title="needs ..."`: illustrative only (it needs something the tests do not have, such
  as a real provider key); the tests check its syntax and skip it, listing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
ATTR = re.compile(r'(\w+)="([^"]*)"')
FILE_NAME = re.compile(r"^[\w.-]+\.(toml|ya?ml|json|csv|py|txt)$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    lang: str
    title: str
    code: str

    @property
    def where(self) -> str:
        """`page:line`, for messages."""
        return f"{self.page}:{self.line}"

    @property
    def file_name(self) -> str | None:
        """The file this block is the content of, if its title names one."""
        return self.title if FILE_NAME.match(self.title) else None

    @property
    def is_output(self) -> bool:
        """Whether this block is the expected output of the block before it."""
        return self.title == "output"

    @property
    def illustrative(self) -> bool:
        """Whether the block is tagged as needing something the tests do not have."""
        return self.title.startswith("needs ")


def blocks(path: Path, root: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order (fences may be indented, as
    inside admonitions and content tabs)."""
    found: list[Block] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        body: list[str] = []
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        lang = info.split(None, 1)[0] if info and not info.startswith("{") else ""
        attrs = dict(ATTR.findall(info))
        found.append(
            Block(
                page=str(path.relative_to(root)),
                line=start,
                lang=lang.lower(),
                title=attrs.get("title", ""),
                code="\n".join(body) + "\n",
            )
        )
    return found


def output_pattern(expected: str) -> re.Pattern[str]:
    """A regex for an expected output: `...` matches anything, trailing spaces ignored."""
    text = "\n".join(line.rstrip() for line in expected.strip().splitlines())
    parts = [re.escape(part) for part in text.split("...")]
    return re.compile(".*?".join(parts), re.DOTALL)


def normalise_output(text: str) -> str:
    """Printed text as compared: trailing spaces and blank edges dropped."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
