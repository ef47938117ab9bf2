"""The Weaviate backend (`[weaviate]` extra: weaviate-client v4, server >= 1.27).

One collection, vectorizer none (govern supplies the vectors), cosine distance on one
named vector `query`, so a similarity means the same as in the embedded backend
(similarity = 1 - distance). Each entry's id is derived from its scope and request
hash, so the exact layer is a fetch by id; the semantic layer filters on scope, context
hash and expiry. Expired objects are ignored on read and purged by `purge`, which the
cache runs in the background.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from govern.cache.backend import BackendStats, CacheEntry, Vector
from govern.config import CacheConfig
from govern.errors import ConfigError

if TYPE_CHECKING:
    from weaviate import WeaviateAsyncClient
    from weaviate.collections.classes.filters import FilterReturn

MIN_SERVER = (1, 27)
VECTOR = "query"
_MISSING = "the Weaviate cache backend needs weaviate-client: pip install 'govern[weaviate]'"
_NAMESPACE = uuid.UUID("6f1d3c8e-2f0b-5b6e-9a57-0c1e8f3a9d21")


def entry_id(scope: str, request_hash: str) -> str:
    """The object id of an entry: stable for its scope and request hash."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope}\x00{request_hash}"))


class WeaviateBackend:
    """Entries in one Weaviate collection."""

    def __init__(
        self,
        url: str,
        *,
        grpc_port: int = 50051,
        api_key: str | None = None,
        collection: str = "GovernCache",
    ):
        self.url = url
        self.grpc_port = grpc_port
        self.api_key = api_key
        self.collection_name = collection
        self._client: WeaviateAsyncClient | None = None

    @classmethod
    def from_config(cls, config: CacheConfig) -> WeaviateBackend:
        """The backend the `cache` section describes."""
        if not config.weaviate_url:
            raise ConfigError("cache.weaviate_url: required when cache.backend is weaviate")
        return cls(
            config.weaviate_url,
            grpc_port=config.weaviate_grpc_port,
            api_key=config.weaviate_api_key,
            collection=config.weaviate_collection,
        )

    async def start(self) -> None:
        """Connect, check the server version, create the collection if missing."""
        try:
            import weaviate
            from weaviate.classes.config import (
                Configure,
                DataType,
                Property,
                Tokenization,
                VectorDistances,
            )
        except ImportError:
            raise ConfigError(_MISSING) from None
        if self._client is not None:
            return
        parts = urlsplit(self.url)
        secure = parts.scheme == "https"
        host = parts.hostname or "localhost"
        client = weaviate.use_async_with_custom(
            http_host=host,
            http_port=parts.port or (443 if secure else 80),
            http_secure=secure,
            grpc_host=host,
            grpc_port=self.grpc_port,
            grpc_secure=secure,
            auth_credentials=weaviate.auth.Auth.api_key(self.api_key) if self.api_key else None,
        )
        await client.connect()
        self._client = client
        version = str((await client.get_meta()).get("version", "0"))
        if tuple(int(p) for p in version.split(".")[:2] if p.isdigit()) < MIN_SERVER:
            await self.aclose()
            raise ConfigError(f"cache: Weaviate {version} is too old; version >= 1.27 is needed")
        if await client.collections.exists(self.collection_name):
            return

        def keyword(name: str) -> Property:
            return Property(
                name=name,
                data_type=DataType.TEXT,
                tokenization=Tokenization.FIELD,
                index_searchable=False,
            )

        await client.collections.create(
            self.collection_name,
            properties=[
                keyword("scope"),
                keyword("request_hash"),
                keyword("context_hash"),
                keyword("model"),
                Property(
                    name="query",
                    data_type=DataType.TEXT,
                    index_filterable=False,
                    index_searchable=False,
                ),
                Property(
                    name="response",
                    data_type=DataType.TEXT,
                    index_filterable=False,
                    index_searchable=False,
                ),
                Property(name="created", data_type=DataType.NUMBER),
                Property(name="expires", data_type=DataType.NUMBER),
                Property(name="has_vector", data_type=DataType.BOOL),
            ],
            vector_config=Configure.Vectors.self_provided(
                name=VECTOR,
                vector_index_config=Configure.VectorIndex.hnsw(
                    distance_metric=VectorDistances.COSINE
                ),
            ),
        )

    def _collection(self) -> Any:
        if self._client is None:
            raise RuntimeError("WeaviateBackend.start() has not run")
        return self._client.collections.get(self.collection_name)

    async def get(self, scope: str, request_hash: str, now: float) -> CacheEntry | None:
        """The live entry under this scope and request hash (a fetch by id)."""
        obj = await self._collection().query.fetch_object_by_id(entry_id(scope, request_hash))
        if obj is None:
            return None
        entry = _entry(obj.properties, None)
        if entry.expires <= now or entry.scope != scope or entry.request_hash != request_hash:
            return None
        return entry

    async def nearest(
        self,
        scope: str,
        context_hash: str,
        vector: Vector,
        min_similarity: float,
        now: float,
        limit: int = 3,
    ) -> list[tuple[CacheEntry, float]]:
        """The live entries of this scope and context most similar to `vector`."""
        from weaviate.classes.query import Filter, MetadataQuery

        found = await self._collection().query.near_vector(
            near_vector=vector.astype(float).tolist(),
            target_vector=VECTOR,
            limit=limit,
            distance=1.0 - min_similarity + 1e-6,
            filters=Filter.all_of(
                [
                    Filter.by_property("scope").equal(scope),
                    Filter.by_property("context_hash").equal(context_hash),
                    Filter.by_property("expires").greater_than(now),
                ]
            ),
            return_metadata=MetadataQuery(distance=True),
        )
        hits: list[tuple[CacheEntry, float]] = []
        for obj in found.objects:
            distance = obj.metadata.distance
            similarity = 1.0 - float(distance if distance is not None else 2.0)
            if similarity >= min_similarity:
                hits.append((_entry(obj.properties, None), min(similarity, 1.0)))
        return sorted(hits, key=lambda hit: -hit[1])

    async def put(self, entry: CacheEntry) -> None:
        """Store an entry, replacing the one with the same scope and request hash."""
        collection = self._collection()
        object_id = entry_id(entry.scope, entry.request_hash)
        properties = {
            "scope": entry.scope,
            "request_hash": entry.request_hash,
            "context_hash": entry.context_hash or "",
            "model": entry.model,
            "query": entry.query or "",
            "response": entry.response.decode(),
            "created": entry.created,
            "expires": entry.expires,
            "has_vector": entry.vector is not None,
        }
        vector = None
        if entry.vector is not None:
            vector = {VECTOR: entry.vector.astype(float).tolist()}
        await collection.data.delete_by_id(object_id)
        await collection.data.insert(properties=properties, uuid=object_id, vector=vector)

    async def _delete_where(self, where: FilterReturn) -> int:
        collection = self._collection()
        total = 0
        while True:
            # The server deletes at most QUERY_MAXIMUM_RESULTS objects per call.
            result = await collection.data.delete_many(where=where)
            total += int(result.successful)
            if result.matches == 0 or result.successful == 0:
                return total

    async def clear(self, scope: str | None = None) -> int:
        """Delete every entry of one scope, or all."""
        from weaviate.classes.query import Filter

        if scope is None:
            return await self._delete_where(Filter.by_property("request_hash").like("*"))
        return await self._delete_where(Filter.by_property("scope").equal(scope))

    async def purge(self, now: float) -> int:
        """Delete expired entries."""
        from weaviate.classes.query import Filter

        return await self._delete_where(Filter.by_property("expires").less_or_equal(now))

    async def stats(self, now: float, scope: str | None = None) -> BackendStats:
        """Counts of live entries."""
        from weaviate.classes.query import Filter

        live = [Filter.by_property("expires").greater_than(now)]
        if scope is not None:
            live.append(Filter.by_property("scope").equal(scope))
        aggregate = self._collection().aggregate
        entries = await aggregate.over_all(filters=Filter.all_of(live), total_count=True)
        vectors = await aggregate.over_all(
            filters=Filter.all_of([*live, Filter.by_property("has_vector").equal(True)]),
            total_count=True,
        )
        return BackendStats(
            entries=int(entries.total_count or 0), with_vectors=int(vectors.total_count or 0)
        )

    async def drop(self) -> None:
        """Delete the whole collection (the next `start` creates it again)."""
        if self._client is not None:
            await self._client.collections.delete(self.collection_name)

    async def aclose(self) -> None:
        """Close the connection."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


def _entry(properties: Any, vector: Vector | None) -> CacheEntry:
    context = str(properties.get("context_hash") or "") or None
    return CacheEntry(
        scope=str(properties["scope"]),
        request_hash=str(properties["request_hash"]),
        context_hash=context,
        model=str(properties["model"]),
        vector=None if vector is None else np.asarray(vector, dtype=np.float32),
        query=str(properties.get("query") or "") or None,
        response=str(properties["response"]).encode(),
        created=float(properties["created"]),
        expires=float(properties["expires"]),
    )
