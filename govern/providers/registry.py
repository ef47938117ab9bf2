"""Provider kinds by name; each module is imported only when a config uses it."""

from __future__ import annotations

import importlib

from govern.config import ProviderConfig
from govern.providers.base import Provider
from govern.transport import Transport

_FACTORIES: dict[str, tuple[str, str]] = {
    "openai": ("govern.providers.openai", "OpenAIProvider"),
    "anthropic": ("govern.providers.anthropic", "AnthropicProvider"),
    "bedrock": ("govern.providers.bedrock", "BedrockProvider"),
    "sim": ("govern.providers.sim", "SimProvider"),
}


def create_provider(name: str, config: ProviderConfig, transport: Transport) -> Provider:
    """Build the provider `name` of the kind its config names."""
    module_name, class_name = _FACTORIES[config.kind or name]
    factory = getattr(importlib.import_module(module_name), class_name)
    provider: Provider = factory(name, config, transport)
    return provider
