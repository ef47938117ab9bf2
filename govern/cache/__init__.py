"""The response cache: an exact layer (canonical request hash) and a semantic layer
(nearest earlier question by embedding), over an embedded or a Weaviate backend.

See docs/cache.md. The request path uses `Cache.lookup` before any upstream call and
`Cache.store` after a successful one; `resolve_policy` and `parse_cache_headers` decide
what applies to a request, `scope_id` which partition it reads and writes.
"""

from govern.cache.backend import (
    BackendStats,
    CacheBackend,
    CachedResponse,
    CacheEntry,
    decode_response,
    encode_response,
)
from govern.cache.cache import Cache, CacheHit, CacheLookup, CacheResult, CacheStats, open_cache
from govern.cache.keys import RequestKeys, canonical, request_keys, semantic_skip
from govern.cache.policy import (
    CachePolicy,
    RequestCacheOptions,
    parse_cache_headers,
    resolve_policy,
    scope_id,
)
from govern.cache.stream import chunks_to_completion, completion_to_chunks, completion_usage

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
    "CachedResponse",
    "RequestCacheOptions",
    "RequestKeys",
    "canonical",
    "chunks_to_completion",
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
]
