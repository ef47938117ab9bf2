"""Model allow lists: exact names and `fnmatch` patterns.

An entry allows a call when it matches, with `fnmatch.fnmatchcase` (case-sensitive; `*`
matches any run of characters including `/`, `?` one character, `[seq]` a class), either
the qualified `provider/model` or the bare model name. So `*` allows everything,
`openai/*` every model of provider `openai`, `gpt-4o*` that family on any provider, and
`sim/gpt-4o-mini` exactly one route. An unset list allows everything, an empty one nothing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

_WILDCARDS = frozenset("*?[")
_CACHE_LIMIT = 4096


def is_pattern(entry: str) -> bool:
    """Whether an allow-list entry uses wildcards (else it is an exact name)."""
    return not _WILDCARDS.isdisjoint(entry)


class ModelMatcher:
    """An allow list compiled once: a set of exact names and one regular expression."""

    __slots__ = ("_cache", "_exact", "_regex", "entries")

    def __init__(self, entries: Sequence[str] | None):
        self.entries: tuple[str, ...] | None = None if entries is None else tuple(entries)
        self._exact = frozenset(e for e in entries or () if not is_pattern(e))
        patterns = [fnmatch.translate(e) for e in entries or () if is_pattern(e)]
        self._regex = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        self._cache: dict[tuple[str, str], bool] = {}

    @property
    def allows_all(self) -> bool:
        """True for an unset list (every model)."""
        return self.entries is None

    def allows(self, provider: str, model: str) -> bool:
        """Whether `provider/model` (or the bare `model`) is on the list."""
        if self.entries is None:
            return True
        key = (provider, model)
        found = self._cache.get(key)
        if found is None:
            found = self._match(f"{provider}/{model}", model)
            if len(self._cache) >= _CACHE_LIMIT:  # model names come from clients: bound it
                self._cache.clear()
            self._cache[key] = found
        return found

    def _match(self, qualified: str, bare: str) -> bool:
        if qualified in self._exact or bare in self._exact:
            return True
        regex = self._regex
        return regex is not None and (
            regex.match(qualified) is not None or regex.match(bare) is not None
        )

    def describe(self) -> str:
        """The list as users wrote it, for error messages."""
        if self.entries is None:
            return "every model"
        return ", ".join(self.entries) if self.entries else "no model"
