"""Providers, their keys, and the HTTP server."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct, field

from govern.config.base import STRICT as _Strict

ProviderKind = Literal["openai", "anthropic", "bedrock", "sim"]
PROVIDER_KINDS: tuple[str, ...] = ("openai", "anthropic", "bedrock", "sim")


class ProviderKey(Struct, **_Strict):
    """One credential of a provider, chosen by weight among the keys that list a model."""

    name: str = "default"
    """Shown in logs and errors instead of the secret."""
    value: str | None = None
    """The API key, or `env.NAME` to read it from the environment. Not used by `bedrock`."""
    models: list[str] = field(default_factory=list)
    """Upstream model names this key serves; empty means every model of the provider."""
    weight: float = 1.0
    """Relative share of traffic among the keys that serve a model; 0 disables the key."""
    aws_access_key_id: str | None = None
    """Bedrock: access key id (or `env.NAME`); unset uses the default AWS credential chain."""
    aws_secret_access_key: str | None = None
    """Bedrock: secret access key (or `env.NAME`)."""
    aws_session_token: str | None = None
    """Bedrock: session token for temporary credentials (or `env.NAME`)."""
    region: str | None = None
    """Bedrock: AWS region of this key; defaults to the provider's `region`."""

    def __repr__(self) -> str:
        return f"ProviderKey(name={self.name!r}, models={self.models!r}, weight={self.weight})"


class ProviderConfig(Struct, **_Strict):
    """One upstream provider. Its name in `providers` is the model prefix (`openai/...`)."""

    kind: ProviderKind | None = None
    """Wire protocol: `openai`, `anthropic`, `bedrock` or `sim`. Defaults to the provider's
    name, so only OpenAI-compatible services under another name (`groq`, `ollama`) need it."""
    keys: list[ProviderKey] = field(default_factory=list)
    """Credentials; a provider without keys is not live (except `sim` and keyless
    OpenAI-compatible servers such as Ollama, which get one anonymous key)."""
    models: list[str] = field(default_factory=list)
    """Models offered for bare-name resolution and `GET /v1/models`, in addition to the
    models its keys list."""
    base_url: str | None = None
    """Upstream base URL, for OpenAI-compatible services, proxies and the simulated
    upstream (for example `http://127.0.0.1:4010/v1`)."""
    api_version: str | None = None
    """Azure OpenAI: the `api-version` query parameter. Setting it switches to Azure's
    deployment URLs (`{base_url}/openai/deployments/{model}/...`) and `api-key` header."""
    region: str | None = None
    """Bedrock: default AWS region (else `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra headers sent with every upstream request."""
    timeout: float = 600.0
    """Seconds allowed for a whole non-streaming call, and between two chunks of a stream."""
    connect_timeout: float = 10.0
    """Seconds allowed to open a connection."""
    max_retries: int = 2
    """Retries of a retryable failure (network error, timeout, 408/409/429, 5xx) on this
    provider before falling back; each retry may pick another key."""
    retry_backoff: float = 0.25
    """Seconds before the first retry; doubles for each further retry (with jitter),
    and an upstream `Retry-After` up to 10 s is honoured instead."""
    default_max_tokens: int = 4096
    """Anthropic and Bedrock require an output limit: used when the client sets none."""
    latency_ms: float = 0.0
    """Sim: milliseconds before the first byte of an answer."""
    chunk_interval_ms: float = 0.0
    """Sim: milliseconds between two stream chunks."""
    default_output_tokens: int = 16
    """Sim: words generated when the request sets no output limit."""


class ServerConfig(Struct, **_Strict):
    """The HTTP server."""

    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: int = 4000
    """TCP port to listen on."""
    max_body_bytes: int = 10 * 1024 * 1024
    """Requests with a larger body get 413."""
    transport: Literal["aiohttp", "httptools", "httpx"] = "httptools"
    """HTTP client for upstream calls: `httptools` (default: govern's own pooled HTTP/1.1
    client, about a tenth of aiohttp's CPU per call), `aiohttp`, or `httpx` (slowest under
    concurrency). None of them uses an HTTP proxy. docs/benchmarks.md has the measurements."""
