"""Which catalog provider prices a gateway provider, the provider names `models()` lists,
and Bedrock's region prefixes."""

from __future__ import annotations

from collections.abc import Callable

KIND_TO_CATALOG: dict[str, str] = {"openai": "openai", "anthropic": "anthropic", "bedrock": "aws"}
"""The catalog provider of each wire protocol, for providers not named after one."""

NAME_ALIASES: dict[str, str] = {
    "bedrock": "aws",
    "xai": "x-ai",
    "vertex": "google",
    "gemini": "google",
}
"""Gateway provider names that mean a catalog provider of another id."""

CATALOG_TO_GATEWAY: dict[str, str] = {
    catalog: kind for kind, catalog in KIND_TO_CATALOG.items() if kind != catalog
}
"""Catalog providers listed under the gateway's name for them (`aws` -> `bedrock`)."""

BEDROCK_REGION_PREFIXES: frozenset[str] = frozenset(
    {"us", "us-gov", "eu", "apac", "au", "jp", "ca", "global"}
)
"""Prefixes of Bedrock cross-region inference profile ids (`us.anthropic.claude-...`)."""

_REGIONAL_NAME_PREFIXES = ("us", "eu", "apac", "jp", "au", "ca", "us-gov")
"""Prefixes to try, in order, to name a `regional.*` catalog entry as callers call it."""


def catalog_provider(kind: str, name: str, known: Callable[[str], bool]) -> str | None:
    """The catalog provider for provider `name` of wire protocol `kind`.

    A provider named after a catalog provider (`groq`, `together`, `azure`, `openrouter`)
    is priced as that one; any other is priced by its protocol (an OpenAI-compatible
    proxy under another name as `openai`); the `sim` protocol has no catalog prices.
    """
    for candidate in (name, NAME_ALIASES.get(name), KIND_TO_CATALOG.get(kind)):
        if candidate is not None and known(candidate):
            return candidate
    return None


def split_catalog_ref(ref: str) -> tuple[str, str]:
    """`openai/gpt-4o-mini` -> (`openai`, `gpt-4o-mini`)."""
    provider, _, model = ref.partition("/")
    if not provider or not model:
        raise ValueError(f"{ref!r}: expected `provider/model`, e.g. `openai/gpt-4o-mini`")
    return provider, model


def split_region(model: str) -> tuple[str | None, str]:
    """A Bedrock model id's region prefix and base id: `us.anthropic.x` -> (`us`,
    `anthropic.x`); an id without a prefix -> (None, id). ARNs are reduced to their id."""
    if model.startswith("arn:"):
        model = model.rsplit("/", 1)[-1]
    prefix, dot, rest = model.partition(".")
    if dot and prefix.lower() in BEDROCK_REGION_PREFIXES and "." in rest:
        return prefix.lower(), rest
    return None, model


def gateway_provider(catalog_id: str) -> str:
    """The provider name `models()` lists a catalog provider's models under: the gateway's
    name for it (`aws` -> `bedrock`), else its catalog id (`openai`, `x-ai`, `fireworks`)."""
    return CATALOG_TO_GATEWAY.get(catalog_id, catalog_id)


def listed_providers(name: str) -> set[str]:
    """The listed provider names a `provider=` filter means: the name itself and the one
    its catalog provider is listed under (`aws`, `bedrock` -> `bedrock`; `xai` -> `x-ai`)."""
    return {name, gateway_provider(NAME_ALIASES.get(name, name))}


def regional_names(entry_id: str) -> list[str]:
    """Ids a caller uses for a Bedrock `regional.*` catalog entry (the price of in-region
    inference profiles): `regional.anthropic.x` -> `us.anthropic.x`, `eu.anthropic.x`..."""
    scope, dot, rest = entry_id.partition(".")
    if scope != "regional" or not dot:
        return []
    return [f"{prefix}.{rest}" for prefix in _REGIONAL_NAME_PREFIXES]
