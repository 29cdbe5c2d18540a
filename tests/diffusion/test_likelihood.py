"""The bound's densities: the Gaussian KL against its textbook form, and the discretized decoder as a proper
distribution over the 256 pixel values that stays exact far in the tails."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import norm

from fsdiff.diffusion.likelihood import discretized_gaussian_log_likelihood, normal_kl


def test_normal_kl_matches_the_textbook_formula_in_float64():
    rng = np.random.default_rng(0)
    mean1, mean2 = rng.normal(size=(2, 50))
    std1, std2 = rng.uniform(0.1, 3.0, size=(2, 50))
    expected = np.log(std2 / std1) + (std1**2 + (mean1 - mean2) ** 2) / (2 * std2**2) - 0.5
    with jax.enable_x64(True):
        kl = normal_kl(
            jnp.asarray(mean1), jnp.asarray(2 * np.log(std1)), jnp.asarray(mean2), jnp.asarray(2 * np.log(std2))
        )
        np.testing.assert_allclose(np.asarray(kl), expected, rtol=1e-10, atol=1e-12)


def test_decoder_is_a_distribution_over_the_256_pixel_values():
    values = np.arange(256) / 127.5 - 1.0
    for mean, scale in [(0.0, 0.01), (0.37, 0.2), (-0.99, 0.003), (1.5, 1.0)]:
        log_p = discretized_gaussian_log_likelihood(
            jnp.asarray(values, jnp.float32),
            mean=jnp.full(256, mean, jnp.float32),
            log_scale=jnp.full(256, np.log(scale), jnp.float32),
        )
        np.testing.assert_allclose(float(jnp.sum(jnp.exp(log_p))), 1.0, rtol=1e-5)


def test_decoder_matches_the_normal_cdf_in_float64():
    x = np.array([-1.0, -0.5, 0.0, 0.2, 1.0])
    mean, scale = 0.1, 0.3
    upper = np.where(x > 0.999, np.inf, x + 1 / 255)
    lower = np.where(x < -0.999, -np.inf, x - 1 / 255)
    expected = np.log(norm.cdf(upper, mean, scale) - norm.cdf(lower, mean, scale))
    with jax.enable_x64(True):
        log_p = discretized_gaussian_log_likelihood(
            jnp.asarray(x), mean=jnp.full(5, mean), log_scale=jnp.full(5, np.log(scale))
        )
        np.testing.assert_allclose(np.asarray(log_p), expected, rtol=1e-9)


def test_decoder_stays_exact_in_the_far_tail_in_float32():
    """A bin ~10 standard deviations out has mass ~1e-23: a probability clamped at 1e-12 would misreport it."""
    x, mean, scale = 0.0, 0.5, 0.05
    expected = np.log(norm.cdf(x + 1 / 255, mean, scale) - norm.cdf(x - 1 / 255, mean, scale))
    log_p = discretized_gaussian_log_likelihood(
        jnp.full(1, x, jnp.float32),
        mean=jnp.full(1, mean, jnp.float32),
        log_scale=jnp.full(1, np.log(scale), jnp.float32),
    )
    assert expected < np.log(1e-20)
    np.testing.assert_allclose(float(log_p[0]), expected, rtol=1e-4)


def test_decoder_gradient_is_finite_when_the_bin_is_narrower_than_float_precision():
    grad = jax.grad(
        lambda log_scale: discretized_gaussian_log_likelihood(
            jnp.zeros(1, jnp.float32), mean=jnp.zeros(1, jnp.float32), log_scale=log_scale
        ).sum()
    )(jnp.full(1, 30.0, jnp.float32))
    assert np.all(np.isfinite(np.asarray(grad)))
