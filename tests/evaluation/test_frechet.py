"""Fréchet distance: zero for a set against itself, equal to the SciPy ``sqrtm`` formula on random Gaussians,
exact for singular covariances, and a typed error for sets too small to have a covariance."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from fsdiff.errors import DataError
from fsdiff.evaluation import frechet_distance, gaussian_moments


def scipy_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The usual FID formula: ``|mu_a - mu_b|² + tr(S_a + S_b - 2 sqrtm(S_a S_b))``."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


def random_gaussian(rng: np.random.Generator, n: int, f: int) -> np.ndarray:
    mixing = rng.normal(size=(f, f))
    return rng.normal(size=(n, f)) @ mixing + rng.normal(size=f)


@given(seed=st.integers(0, 2**16), f=st.integers(1, 8))
def test_a_set_is_at_distance_zero_from_itself(seed, f):
    x = random_gaussian(np.random.default_rng(seed), 50, f)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


@given(seed=st.integers(0, 2**16), f=st.integers(1, 8), n=st.integers(20, 80), m=st.integers(20, 80))
def test_matches_the_scipy_sqrtm_formula_on_random_gaussians(seed, f, n, m):
    rng = np.random.default_rng(seed)
    a, b = random_gaussian(rng, n, f), random_gaussian(rng, m, f)
    assert frechet_distance(a, b) == pytest.approx(scipy_reference(a, b), rel=1e-6, abs=1e-8)


def test_is_symmetric_and_reduces_to_the_mean_distance_for_shifted_copies():
    x = random_gaussian(np.random.default_rng(0), 40, 5)
    shift = np.arange(5.0)
    assert frechet_distance(x, x + shift) == pytest.approx(np.sum(shift**2), rel=1e-9)
    y = random_gaussian(np.random.default_rng(1), 30, 5)
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)


def test_singular_covariances_of_sets_smaller_than_the_feature_width_stay_finite_and_exact():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 16)), rng.normal(size=(5, 16))
    assert np.isfinite(frechet_distance(a, b))
    assert frechet_distance(a, b) == pytest.approx(scipy_reference(a, b), rel=1e-5)


def test_a_single_vector_has_no_covariance():
    with pytest.raises(DataError, match="at least 2 feature vectors per set, got 1"):
        frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))
    mean, cov = gaussian_moments(np.asarray([[0.0], [2.0]]))
    assert mean.tolist() == [1.0] and cov.tolist() == [[2.0]]
