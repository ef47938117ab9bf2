"""The response cache: an exact layer (canonical request hash) and a semantic layer
(nearest earlier question by embedding), over an embedded or a Weaviate backend.

See docs/cache.md. The request path uses `Cache.lookup` before any upstream call and
`Cache.store` after a successful one; `resolve_policy` and `parse_cache_headers` decide
what applies to a request, `scope_id` which partition it reads and writes.

From a notebook or script, `govern.cache.stats()` and `govern.cache.clear(scope)` act on
the gateway `govern.client()` calls (the embedded one, or the one chosen with
`govern.connect(url, admin_key=...)`).
"""

from govern.cache.backend import (
    BackendStats,
    CacheBackend,
    CachedResponse,
    CacheEntry,
    decode_response,
    encode_response,
)
from govern.cache.cache import Cache, CacheHit, CacheLookup, CacheResult, open_cache
from govern.cache.counters import CacheStats
from govern.cache.keys import RequestKeys, canonical, request_keys, semantic_skip
from govern.cache.manage import CacheUnavailable, clear, stats
from govern.cache.policy import (
    CachePolicy,
    RequestCacheOptions,
    parse_cache_headers,
    resolve_policy,
    scope_id,
)
from govern.cache.stream import chunks_to_completion, completion_to_chunks, completion_usage
from govern.cache.usage import CacheUsageSource

__all__ = [
    "BackendStats",
    "Cache",
    "CacheBackend",
    "CacheEntry",
    "CacheHit",
    "CacheLookup",
    "CachePolicy",
    "CacheResult",
    "CacheStats",
    "CacheUnavailable",
    "CacheUsageSource",
    "CachedResponse",
    "RequestCacheOptions",
    "RequestKeys",
    "canonical",
    "chunks_to_completion",
    "clear",
    "completion_to_chunks",
    "completion_usage",
    "decode_response",
    "encode_response",
    "open_cache",
    "parse_cache_headers",
    "request_keys",
    "resolve_policy",
    "scope_id",
    "semantic_skip",
    "stats",
]
