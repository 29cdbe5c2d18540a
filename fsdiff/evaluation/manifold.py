"""Precision and recall of generated images as k-nearest-neighbour manifold estimates (Kynkäänniemi et al. 2019)."""

import numpy as np
from jaxtyping import Float, Float64

from fsdiff.errors import DataError
from fsdiff.typing import PositiveInt


def precision_recall(
    real: Float[np.ndarray, "n f"], generated: Float[np.ndarray, "m f"], *, neighbours: PositiveInt = 3
) -> tuple[float, float]:
    """``(precision, recall)``: the fraction of generated features inside the real manifold, and of real features
    inside the generated one. A set's manifold is the union of balls around its points, each reaching the point's
    ``neighbours``-th nearest neighbour in the same set (k = 3 as in the paper).

    A generator that repeats a few images (the copy baseline) has balls of radius 0 around repeated points: its
    recall falls towards 0, which is the point of the metric. Raises ``DataError`` when a set has no more than
    ``neighbours`` points.
    """
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    for name, x in (("real", real), ("generated", generated)):
        if x.shape[0] <= neighbours:
            raise DataError(f"precision/recall with {neighbours} neighbours needs more {name} images, got {x.shape[0]}")
    cross = pairwise_distances(generated, real)  # "m n"
    precision = np.mean(np.any(cross <= knn_radii(real, neighbours)[None, :], axis=1))
    recall = np.mean(np.any(cross <= knn_radii(generated, neighbours)[:, None], axis=0))
    return float(precision), float(recall)


def knn_radii(x: Float64[np.ndarray, "n f"], neighbours: int) -> Float64[np.ndarray, " n"]:
    """The distance from each point to its ``neighbours``-th nearest other point of ``x``."""
    distances = pairwise_distances(x, x)
    return np.sort(distances, axis=1)[:, neighbours]  # column 0 is the point itself


def pairwise_distances(a: Float64[np.ndarray, "n f"], b: Float64[np.ndarray, "m f"]) -> Float64[np.ndarray, "n m"]:
    """Euclidean distances between the rows of ``a`` and of ``b``."""
    squared = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(squared, 0.0, None))
