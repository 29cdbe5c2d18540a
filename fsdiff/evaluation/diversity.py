"""Diversity of generated images relative to real ones: are the samples new images, or copies of a few?"""

import numpy as np
from jaxtyping import Float

from fsdiff.errors import DataError
from fsdiff.evaluation.manifold import pairwise_distances


def diversity(real: Float[np.ndarray, "b m f"], generated: Float[np.ndarray, "b n f"]) -> float:
    """Mean over the ``b`` classes of the ratio: mean pairwise feature distance among one class's generated images
    / the same among its real images. About 1 when the samples vary as much as real images of the class; copies
    of ``k`` context images score well below (repeated images are pairs at distance 0, and ``k`` images vary less
    than many). Raises ``DataError`` when a class has fewer than 2 images on either side or its real images are
    all identical."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if real.shape[1] < 2 or generated.shape[1] < 2:
        raise DataError(
            f"diversity needs at least 2 real and 2 generated images per class, got {real.shape[1]} and "
            f"{generated.shape[1]}"
        )
    spread_real = np.asarray([_mean_pairwise(x) for x in real])
    if np.any(spread_real <= 0.0):
        raise DataError("diversity: a class's real images all have the same features")
    spread_generated = np.asarray([_mean_pairwise(x) for x in generated])
    return float(np.mean(spread_generated / spread_real))


def _mean_pairwise(x: np.ndarray) -> float:
    """Mean distance over the ``n (n - 1)`` ordered pairs of distinct rows (the diagonal is left out)."""
    n = x.shape[0]
    return float(pairwise_distances(x, x).sum() / (n * (n - 1)))
