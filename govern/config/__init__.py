"""The whole configuration as msgspec Structs, loaded from JSON, YAML or TOML.

Secrets may be written as `env.NAME`: they are read from the environment when the
configuration is loaded, and a missing variable is an error naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct, field

from govern.config.base import STRICT as _Strict
from govern.config.cache import (
    CacheConfig,
    CacheMode,
    CacheScope,
    CacheSettings,
    _validate_cache,
    validate_cache_settings,
)
from govern.config.governance import (
    AwareDatetime,
    BudgetConfig,
    CustomerConfig,
    GovernanceConfig,
    KeyProviderConfig,
    RateLimitConfig,
    Reset,
    TeamConfig,
    VirtualKeyConfig,
)
from govern.config.log import LogConfig
from govern.config.pricing import (
    MAX_PER_MTOK,
    ChargeUnpriced,
    DefaultPrice,
    PriceOverride,
    PricingConfig,
    _validate_pricing,
)
from govern.config.providers import (
    PROVIDER_KINDS,
    ProviderConfig,
    ProviderKey,
    ProviderKind,
    ServerConfig,
)
from govern.errors import ConfigError

__all__ = [
    "MAX_PER_MTOK",
    "PROVIDER_KINDS",
    "SIM_MODELS",
    "AwareDatetime",
    "BudgetConfig",
    "CacheConfig",
    "CacheMode",
    "CacheScope",
    "CacheSettings",
    "ChargeUnpriced",
    "ConfigError",
    "CustomerConfig",
    "DefaultPrice",
    "GovernConfig",
    "GovernanceConfig",
    "KeyProviderConfig",
    "LogConfig",
    "PriceOverride",
    "PricingConfig",
    "ProviderConfig",
    "ProviderKey",
    "ProviderKind",
    "RateLimitConfig",
    "Reset",
    "ServerConfig",
    "TeamConfig",
    "VirtualKeyConfig",
    "config_from_dict",
    "default_config",
    "find_config",
    "load_config",
    "validate",
    "validate_cache_settings",
]


class GovernConfig(Struct, **_Strict):
    """The gateway's configuration."""

    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    """Upstream providers by name; the name is the model prefix clients use."""
    server: ServerConfig = field(default_factory=ServerConfig)
    """HTTP server settings."""
    pricing: PricingConfig = field(default_factory=PricingConfig)
    """The model catalog's overrides and the policy for unpriced models."""
    log: LogConfig = field(default_factory=LogConfig)
    """The request log."""
    cache: CacheConfig = field(default_factory=CacheConfig)
    """The response cache (exact and semantic layers); off unless enabled."""
    governance: GovernanceConfig = field(default_factory=GovernanceConfig)
    """Customers, teams, virtual keys, budgets, rate limits and the management API."""
    data_dir: str | None = None
    """Directory for the gateway's files (request log, cache); `--data-dir` overrides it.
    Default: `$GOVERN_DATA_DIR`, else `./govern-data`."""

    def provider_kind(self, name: str) -> str:
        """The wire protocol of provider `name`."""
        return self.providers[name].kind or name


def load_config(path: str | os.PathLike[str] | None = None) -> GovernConfig:
    """Load a config file (`.json`, `.yaml`/`.yml`, `.toml`), or the offline default."""
    if path is None:
        return default_config()
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    suffix = p.suffix.lower()
    decoders = {
        ".json": msgspec.json.decode,
        ".yaml": msgspec.yaml.decode,
        ".yml": msgspec.yaml.decode,
        ".toml": msgspec.toml.decode,
    }
    if suffix not in decoders:
        raise ConfigError(f"config file {p} must end in .json, .yaml, .yml or .toml")
    try:
        data = decoders[suffix](raw)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"config file {p} is not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping at the top level")
    return config_from_dict(data, source=str(p))


def config_from_dict(data: Mapping[str, Any], *, source: str = "config") -> GovernConfig:
    """Build a validated configuration from plain Python data (as a file would hold)."""
    data = dict(data)
    providers = data.pop("providers", {})
    if not isinstance(providers, Mapping):
        raise ConfigError(f"invalid {source}: `providers` must be a mapping of name to provider")
    try:
        config = msgspec.convert(data, type=GovernConfig)
        for name, provider in providers.items():
            try:
                config.providers[str(name)] = msgspec.convert(provider, type=ProviderConfig)
            except msgspec.ValidationError as exc:
                raise msgspec.ValidationError(_config_path(str(exc), f"providers.{name}")) from None
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid {source}: {_config_path(str(exc))}") from None
    return validate(config)


def _config_path(message: str, prefix: str = "") -> str:
    # msgspec says "... - at `$.server.port`"; users think in dotted paths from the top.
    if prefix:
        return message.replace("`$.", f"`{prefix}.").replace("`$`", f"`{prefix}`")
    return message.replace("`$.", "`").replace("`$`", "the top level")


def validate(config: GovernConfig, environ: Mapping[str, str] | None = None) -> GovernConfig:
    """Check cross-field rules and resolve `env.NAME` secrets; raise ConfigError."""
    env = os.environ if environ is None else environ
    for name, provider in config.providers.items():
        where = f"providers.{name}"
        if "/" in name or not name:
            raise ConfigError(f"{where}: a provider name must be non-empty and contain no '/'")
        kind = provider.kind or name
        if kind not in PROVIDER_KINDS:
            raise ConfigError(
                f"{where}.kind: expected one of {', '.join(PROVIDER_KINDS)}; "
                f"set `kind` for a provider named {name!r}"
            )
        for attr in ("timeout", "connect_timeout"):
            if getattr(provider, attr) <= 0:
                raise ConfigError(f"{where}.{attr}: must be > 0 seconds")
        if provider.max_retries < 0:
            raise ConfigError(f"{where}.max_retries: must be >= 0")
        for i, key in enumerate(provider.keys):
            kwhere = f"{where}.keys[{i}]"
            if key.weight < 0:
                raise ConfigError(f"{kwhere}.weight: must be >= 0")
            for attr in (
                "value",
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
            ):
                secret = getattr(key, attr)
                if isinstance(secret, str) and secret.startswith("env."):
                    var = secret[4:]
                    if var not in env:
                        raise ConfigError(f"{kwhere}.{attr}: environment variable {var} is not set")
                    setattr(key, attr, env[var])
            if key.value is None and (
                kind == "anthropic" or (name == "openai" and provider.base_url is None)
            ):
                raise ConfigError(f"{kwhere}.value: an API key is required for {name}")
        names = [k.name for k in provider.keys]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}.keys: key names must be unique, got {names}")
    dsn = config.log.postgres_dsn
    if dsn and dsn.startswith("env."):
        if dsn[4:] not in env:
            raise ConfigError(f"log.postgres_dsn: environment variable {dsn[4:]} is not set")
        config.log.postgres_dsn = env[dsn[4:]]
    if config.log.store == "postgres" and not config.log.postgres_dsn:
        raise ConfigError("log.postgres_dsn: required when log.store is postgres")
    for attr in ("batch_size", "queue_size"):
        if getattr(config.log, attr) < 1:
            raise ConfigError(f"log.{attr}: must be >= 1")
    if config.log.flush_interval_ms < 0:
        raise ConfigError("log.flush_interval_ms: must be >= 0")
    _validate_pricing(config.pricing)
    _validate_cache(config.cache, env)
    for section in ("customers", "teams", "virtual_keys"):
        for i, entity in enumerate(getattr(config.governance, section)):
            if entity.cache is not None:
                validate_cache_settings(entity.cache, f"governance.{section}[{i}].cache")
    from govern.governance.declared import validate_governance

    validate_governance(config, env)
    if not 0 < config.server.port < 65536:
        raise ConfigError("server.port: must be between 1 and 65535")
    if config.server.max_body_bytes <= 0:
        raise ConfigError("server.max_body_bytes: must be > 0")
    return config


SIM_MODELS: tuple[str, ...] = (
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1-mini",
    "claude-sonnet-4-5",
    "claude-3-5-haiku",
)
"""Models the offline `sim` provider offers by default, named after the real ones they
stand in for and priced as (`sim/gpt-4o-mini` as `openai/gpt-4o-mini`)."""


def default_config(environ: Mapping[str, str] | None = None) -> GovernConfig:
    """The configuration used without a file: real providers with keys in the
    environment (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, AWS credentials), then `sim`."""
    env = os.environ if environ is None else environ
    providers: dict[str, ProviderConfig] = {}
    if env.get("OPENAI_API_KEY"):
        providers["openai"] = ProviderConfig(
            keys=[ProviderKey(name="env", value="env.OPENAI_API_KEY")]
        )
    if env.get("ANTHROPIC_API_KEY"):
        providers["anthropic"] = ProviderConfig(
            keys=[ProviderKey(name="env", value="env.ANTHROPIC_API_KEY")]
        )
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE"):
        providers["bedrock"] = ProviderConfig(keys=[ProviderKey(name="aws")])
    providers["sim"] = ProviderConfig(models=list(SIM_MODELS))
    pricing = PricingConfig(
        overrides=[
            PriceOverride(
                model=m,
                provider="sim",
                pricing_as=f"{'anthropic' if m.startswith('claude') else 'openai'}/{m}",
            )
            for m in SIM_MODELS
        ]
    )
    return validate(GovernConfig(providers=providers, pricing=pricing), env)


CONFIG_CANDIDATES: tuple[str, ...] = ("govern.toml", "govern.yaml", "govern.yml", "govern.json")


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use: `explicit`, else `$GOVERN_CONFIG`, else `./govern.toml`
    (`.yaml`, `.yml`, `.json`); None means the offline default."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get("GOVERN_CONFIG"):
        return Path(os.environ["GOVERN_CONFIG"])
    return next((Path(c) for c in CONFIG_CANDIDATES if Path(c).is_file()), None)
