"""The Fréchet distance between Gaussians fitted to two sets of features (Heusel et al. 2017's FID, in any
feature space)."""

import numpy as np
from jaxtyping import Float, Float64

from fsdiff.errors import DataError


def frechet_distance(a: Float[np.ndarray, "n f"], b: Float[np.ndarray, "m f"]) -> float:
    """``|mu_a - mu_b|² + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^½)`` of the means and covariances of ``a`` and ``b``.

    The trace of the matrix square root is computed as ``sum sqrt(eig(S_a^½ S_b S_a^½))`` (a symmetric PSD
    matrix with the same eigenvalues as ``S_a S_b``), in float64, with rounding-negative eigenvalues clipped:
    unlike ``scipy.linalg.sqrtm`` it needs no complex arithmetic and stays exact for the singular covariances of
    sets smaller than the feature width. Those small-set estimates are biased upwards, so compare distances only
    between sets of equal sizes.
    """
    mean_a, cov_a = gaussian_moments(a)
    mean_b, cov_b = gaussian_moments(b)
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    eigenvalues = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    trace = np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.sqrt(eigenvalues).sum()
    return float(np.sum(np.square(mean_a - mean_b)) + max(trace, 0.0))


def gaussian_moments(x: Float[np.ndarray, "n f"]) -> tuple[Float64[np.ndarray, " f"], Float64[np.ndarray, "f f"]]:
    """Mean and unbiased covariance of the rows of ``x``, float64. Raises ``DataError`` for fewer than 2 rows."""
    if x.shape[0] < 2:
        raise DataError(f"a Fréchet distance needs at least 2 feature vectors per set, got {x.shape[0]}")
    x = np.asarray(x, np.float64)
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(matrix: Float64[np.ndarray, "f f"]) -> Float64[np.ndarray, "f f"]:
    eigenvalues, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[None, :]) @ vectors.T
