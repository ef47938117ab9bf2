"""An exact cosine index in numpy: one growable matrix of unit vectors per partition.

Measured against alternatives in `benchmarks/cache_index.py` (docs/cache.md): at the
scale one gateway process holds, a matrix-vector product is exact and as fast as an
approximate index, with no build step and no extra dependency.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from govern.cache.backend import Vector


class VectorPartition:
    """Unit vectors with their keys and expiry times; removal swaps in the last row."""

    __slots__ = ("expires", "keys", "matrix", "size")

    def __init__(self, dimensions: int, capacity: int = 16):
        self.matrix: npt.NDArray[np.float32] = np.zeros((capacity, dimensions), np.float32)
        self.expires: npt.NDArray[np.float64] = np.zeros(capacity, np.float64)
        self.keys: list[tuple[str, str]] = []
        self.size = 0

    def add(self, key: tuple[str, str], vector: Vector, expires: float) -> int:
        """Append a row; return its position."""
        if self.size == len(self.matrix):
            grown = len(self.matrix) * 2
            self.matrix = np.resize(self.matrix, (grown, self.matrix.shape[1]))
            self.expires = np.resize(self.expires, grown)
        self.matrix[self.size] = vector
        self.expires[self.size] = expires
        self.keys.append(key)
        self.size += 1
        return self.size - 1

    def remove(self, position: int) -> tuple[str, str] | None:
        """Remove a row; return the key of the row moved into its place, if any."""
        last = self.size - 1
        moved: tuple[str, str] | None = None
        if position != last:
            self.matrix[position] = self.matrix[last]
            self.expires[position] = self.expires[last]
            self.keys[position] = self.keys[last]
            moved = self.keys[position]
        self.keys.pop()
        self.size -= 1
        return moved

    def nearest(
        self, vector: Vector, now: float, min_similarity: float, limit: int
    ) -> list[tuple[int, float]]:
        """Positions and cosine similarities of up to `limit` live rows at least
        `min_similarity` similar to `vector`, most similar first."""
        return scan(
            self.matrix[: self.size], self.expires[: self.size], vector, now, min_similarity, limit
        )

    def confirm(
        self, found: list[tuple[int, float]], vector: Vector, now: float, min_similarity: float
    ) -> list[tuple[int, float]]:
        """Re-score positions found by a scan that ran while the partition could change
        (in another thread): each similarity is recomputed against the row now there."""
        confirmed = []
        for position, _ in found:
            if position < self.size and self.expires[position] > now:
                score = min(float(self.matrix[position] @ vector), 1.0)
                if score >= min_similarity:
                    confirmed.append((position, score))
        return sorted(confirmed, key=lambda hit: -hit[1])


def scan(
    matrix: npt.NDArray[np.float32],
    expires: npt.NDArray[np.float64],
    vector: Vector,
    now: float,
    min_similarity: float,
    limit: int,
) -> list[tuple[int, float]]:
    """The top `limit` rows of `matrix` by dot product with `vector`, live and at least
    `min_similarity`, most similar first."""
    size = len(matrix)
    if size == 0:
        return []
    similarities = matrix @ vector
    similarities[expires <= now] = -np.inf
    top = (
        np.argpartition(similarities, size - limit)[size - limit :]
        if limit < size
        else np.arange(size)
    )
    ranked = top[np.argsort(similarities[top])[::-1]]
    return [
        (int(i), min(float(similarities[i]), 1.0))
        for i in ranked
        if similarities[i] >= min_similarity
    ]
