"""Samplers as short pure functions (in the style of k-diffusion): each runs the reverse chain with one
``lax.scan`` over the steps, last to first, given ``reverse_step(x_t, step) -> Prediction``.

``step`` indexes the sampler's own (possibly respaced) steps; mapping it to the original timestep a denoiser
sees is the caller's business (``GaussianDiffusion.sample``).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float, Int, PRNGKeyArray

from fsdiff.typing import Images


class Prediction(NamedTuple):
    """What a model says about the reverse step ``p(x_{t-1} | x_t)``: its mean, variance and log-variance, and
    the ``x0`` and ``eps`` they imply. Every field ``"b h w c"``."""

    mean: Images
    variance: Images
    log_variance: Images
    x0: Images
    eps: Images


ReverseStep = Callable[[Images, Int[Array, ""]], Prediction]


def ddpm(reverse_step: ReverseStep, x: Images, key: PRNGKeyArray, *, num_steps: int) -> Images:
    """Ancestral sampling (Ho et al. 2020, Algorithm 2) from ``x = x_T``: ``x_{t-1} = mean + σ_t z`` with the
    predicted mean and variance, no noise added at the last step."""

    def step(x_t: Images, inputs: tuple[Int[Array, ""], PRNGKeyArray]) -> tuple[Images, None]:
        i, step_key = inputs
        prediction = reverse_step(x_t, i)
        noise = jax.random.normal(step_key, x_t.shape, x_t.dtype)
        return prediction.mean + jnp.where(i > 0, jnp.exp(0.5 * prediction.log_variance) * noise, 0.0), None

    x0, _ = lax.scan(step, x, _reverse_steps(num_steps, key))
    return x0


def ddim(
    reverse_step: ReverseStep, x: Images, key: PRNGKeyArray, *, alphas_cumprod: Float[Array, "s"], eta: float = 0.0
) -> Images:
    """DDIM (Song et al. 2021, eq. 12) from ``x = x_T`` over the steps whose ``alphas_cumprod`` are given:
    ``x_prev = √ᾱ_prev x0 + √(1 - ᾱ_prev - σ²) eps + σ z`` with
    ``σ = eta √((1 - ᾱ_prev) / (1 - ᾱ)) √(1 - ᾱ / ᾱ_prev)``. ``eta = 0`` is deterministic; ``eta = 1`` has
    DDPM's posterior variance. The predicted variance is not used."""
    alphas_cumprod_prev = jnp.concatenate([jnp.ones((1,), alphas_cumprod.dtype), alphas_cumprod[:-1]])

    def step(x_t: Images, inputs: tuple[Int[Array, ""], PRNGKeyArray]) -> tuple[Images, None]:
        i, step_key = inputs
        prediction = reverse_step(x_t, i)
        alpha_bar, alpha_bar_prev = alphas_cumprod[i], alphas_cumprod_prev[i]
        sigma = eta * jnp.sqrt((1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * (1.0 - alpha_bar / alpha_bar_prev))
        # max(., 0): with eta = 1 the two terms cancel exactly and rounding may go below zero.
        direction = jnp.sqrt(jnp.maximum(1.0 - alpha_bar_prev - sigma**2, 0.0)) * prediction.eps
        noise = jax.random.normal(step_key, x_t.shape, x_t.dtype)
        return jnp.sqrt(alpha_bar_prev) * prediction.x0 + direction + sigma * noise, None

    x0, _ = lax.scan(step, x, _reverse_steps(alphas_cumprod.shape[0], key))
    return x0


def _reverse_steps(num_steps: int, key: PRNGKeyArray) -> tuple[Int[Array, "s"], Array]:
    """The scan inputs: steps ``num_steps - 1 .. 0`` and one key per step."""
    return jnp.arange(num_steps - 1, -1, -1, dtype=jnp.int32), jax.random.split(key, num_steps)
