"""Semantic-cache index: numpy exact search against approximate indexes, and the cost of
an exact-layer hit. Numbers go in docs/cache.md.

    python -m benchmarks.cache_index [--sizes 10000 100000] [--queries 300]

The alternatives (faiss-cpu, hnswlib, usearch) are not govern dependencies; each is
measured only if importable (install them in a scratch environment to compare).
Vectors are 384-wide unit vectors in clusters (like questions on a few topics), and
each query is a stored vector plus noise, so there is a true nearest neighbour.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import time
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np

from govern.cache import Cache, resolve_policy
from govern.cache.embedded import EmbeddedBackend
from govern.cache.index import VectorPartition
from govern.config import CacheConfig
from govern.usage import Usage
from govern.wire.decode import decode_chat_request
from govern.wire.openai import ChatCompletion, Choice, CompletionUsage, ResponseMessage

DIM = 384


def dataset(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(8, n // 500), DIM)).astype(np.float32)
    data = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, DIM))
    data = (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)
    picks = data[rng.integers(0, n, queries)] + 0.05 * rng.standard_normal((queries, DIM))
    q = (picks / np.linalg.norm(picks, axis=1, keepdims=True)).astype(np.float32)
    return data, q


def per_query_us(search: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        search(q)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def bench_index(n: int, queries: int) -> list[tuple[str, float, float, float]]:
    data, qs = dataset(n, queries)
    truth = np.argmax(qs @ data.T, axis=1)
    rows: list[tuple[str, float, float, float]] = []

    start = time.perf_counter()
    part = VectorPartition(DIM)
    for i, v in enumerate(data):
        part.add(("s", str(i)), v, expires=1e12)
    build = time.perf_counter() - start
    found = [part.nearest(q, 0.0, -1.0, 3)[0][0] for q in qs]
    recall = float(np.mean(np.array(found) == truth))
    rows.append(
        (
            "numpy exact (govern)",
            build,
            per_query_us(lambda q: part.nearest(q, 0.0, 0.9, 3), qs),
            recall,
        )
    )

    if importlib.util.find_spec("faiss"):
        import faiss

        faiss.omp_set_num_threads(1)
        start = time.perf_counter()
        flat = faiss.IndexFlatIP(DIM)
        flat.add(data)
        build = time.perf_counter() - start
        _, ids = flat.search(qs, 1)
        recall = float(np.mean(ids[:, 0] == truth))
        rows.append(
            (
                "faiss IndexFlatIP (exact)",
                build,
                per_query_us(lambda q: flat.search(q[None], 3), qs),
                recall,
            )
        )
    if importlib.util.find_spec("hnswlib"):
        import hnswlib

        start = time.perf_counter()
        hnsw = hnswlib.Index(space="cosine", dim=DIM)
        hnsw.init_index(max_elements=n, ef_construction=200, M=16)
        hnsw.set_num_threads(1)
        hnsw.add_items(data)
        hnsw.set_ef(64)
        build = time.perf_counter() - start
        labels, _ = hnsw.knn_query(qs, k=1)
        recall = float(np.mean(labels[:, 0] == truth))
        rows.append(
            (
                "hnswlib HNSW M=16 ef=64",
                build,
                per_query_us(lambda q: hnsw.knn_query(q, k=3), qs),
                recall,
            )
        )
    if importlib.util.find_spec("usearch"):
        from usearch.index import Index

        start = time.perf_counter()
        us = Index(ndim=DIM, metric="cos")
        us.add(np.arange(n), data, threads=1)
        build = time.perf_counter() - start
        matches = us.search(qs, 1, threads=1)
        recall = float(np.mean(matches.keys[:, 0] == truth))
        rows.append(
            ("usearch HNSW (defaults)", build, per_query_us(lambda q: us.search(q, 3), qs), recall)
        )
    return rows


async def bench_exact_hit(rounds: int = 2000) -> tuple[float, float]:
    """Median microseconds of a whole exact-layer lookup that hits (hash the request,
    find the entry, decode the stored response), and of one that misses."""
    cache = Cache(CacheConfig(mode="exact"), EmbeddedBackend(None))
    policy = resolve_policy(cache.config)
    body = {
        "model": "openai/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful data-science assistant. " * 8},
            {"role": "user", "content": "How do I drop rows with NaN values in pandas? " * 4},
        ],
        "temperature": 0.2,
        "max_tokens": 400,
    }
    request, extras = decode_chat_request(msgspec.json.encode(body))
    answer = ChatCompletion(
        id="chatcmpl-x",
        created=0,
        model="gpt-4o-mini",
        choices=[
            Choice(
                index=0,
                message=ResponseMessage(content="Use df.dropna(). " * 40),
                finish_reason="stop",
            )
        ],
        usage=CompletionUsage(prompt_tokens=120, completion_tokens=200, total_tokens=320),
    )
    found = await cache.lookup(request, extras, policy, "key:a")
    await cache.store(found, answer, Usage(input_tokens=120, output_tokens=200), 1000)
    other, other_extras = decode_chat_request(msgspec.json.encode({**body, "temperature": 0.3}))

    async def timed(req: Any, ext: Any) -> float:
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            await cache.lookup(req, ext, policy, "key:a")
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e6

    return await timed(request, extras), await timed(other, other_extras)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    hit, miss = asyncio.run(bench_exact_hit())
    print(f"exact layer, whole lookup: hit {hit:.1f} us, miss {miss:.1f} us (median)\n")
    print("| entries | index | build s | query us (median, top-3) | recall@1 |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        for name, build, query, recall in bench_index(n, args.queries):
            print(f"| {n:,} | {name} | {build:.2f} | {query:.0f} | {recall:.3f} |")


if __name__ == "__main__":
    main()
