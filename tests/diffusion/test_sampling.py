"""Samplers: with the exact optimal predictor for Gaussian data, DDPM (1000 steps) and respaced DDIM (50 of 1000,
eta 0 and 1) reproduce the data's mean and std, and match the moments of the discrete chain they run, computed
independently in NumPy; respacing hands the original timesteps to the denoiser; learned variance works; the whole
sampler jits and traces once."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fsdiff.diffusion import GaussianDiffusion

MU, STD = 0.3, 0.5
SHAPE = (2048, 4, 4, 1)  # 32768 iid pixels: standard errors ~0.003 on the mean and ~0.002 on the std


def optimal_prediction(diffusion: GaussianDiffusion, predict: str):
    """The exact ``E[eps | x_t]``, ``E[x0 | x_t]`` or ``E[v | x_t]`` for data ~ N(MU, STD²) per pixel; ``t`` is
    an original timestep index."""
    alphas_cumprod = diffusion.schedule.alphas_cumprod

    def denoise(x_t, t):
        ab = alphas_cumprod[t][:, None, None, None]
        centered = (x_t - jnp.sqrt(ab) * MU) / (ab * STD**2 + 1.0 - ab)
        eps = jnp.sqrt(1.0 - ab) * centered
        x0 = MU + jnp.sqrt(ab) * STD**2 * centered
        return {"eps": eps, "x0": x0, "v": jnp.sqrt(ab) * eps - jnp.sqrt(1.0 - ab) * x0}[predict]

    return denoise


def chain_moments(alphas_cumprod: np.ndarray, eta: float) -> tuple[float, float]:
    """Mean and std of the DDIM(eta) chain (DDPM = eta 1) on these ``alpha_bar``, started from N(0, 1) with the
    optimal predictor: every step is affine in ``x_t`` plus Gaussian noise, so the moments propagate exactly."""
    mean, var = 0.0, 1.0
    prev = np.concatenate([[1.0], alphas_cumprod[:-1]])
    for ab, ab_prev in zip(alphas_cumprod[::-1], prev[::-1], strict=True):
        sigma = eta * np.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        gain = (np.sqrt(ab_prev * ab) * STD**2 + np.sqrt(max(1 - ab_prev - sigma**2, 0.0) * (1 - ab))) / (
            ab * STD**2 + 1 - ab
        )
        mean = np.sqrt(ab_prev) * MU + gain * (mean - np.sqrt(ab) * MU)
        var = gain**2 * var + sigma**2
    return mean, np.sqrt(var)


def improved_ddpm_kept(steps: int, num_steps: int) -> np.ndarray:
    """improved DDPM's ``space_timesteps(steps, [num_steps])``: evenly strided, first and last included."""
    return np.round(np.arange(num_steps) * (steps - 1) / (num_steps - 1)).astype(int)


def draw(diffusion: GaussianDiffusion, predict: str, **options) -> np.ndarray:
    denoise = optimal_prediction(diffusion, predict)
    sample = jax.jit(lambda key: diffusion.sample(denoise, SHAPE, key, clip=False, **options))
    return np.asarray(sample(jax.random.key(0)))


def assert_moments(x: np.ndarray, expected: tuple[float, float], tolerance: float):
    np.testing.assert_allclose([x.mean(), x.std()], expected, atol=tolerance)


def test_ddpm_with_1000_steps_reproduces_the_data_distribution():
    diffusion = GaussianDiffusion(steps=1000)
    x = draw(diffusion, "eps", method="ddpm")
    ab = np.asarray(diffusion.schedule.alphas_cumprod, np.float64)
    assert_moments(x, chain_moments(ab, eta=1.0), tolerance=0.01)
    assert_moments(x, (MU, STD), tolerance=0.012)


@pytest.mark.parametrize(("predict", "eta"), [("eps", 0.0), ("eps", 1.0), ("x0", 0.0), ("v", 1.0)])
def test_ddim_with_50_respaced_steps_reproduces_the_data_distribution(predict, eta):
    """Against the chain's exact moments tightly; against (MU, STD) up to the 50-step discretization error, which
    shrinks the std (by ~3% at eta 0 and ~7% at eta 1: the fixed variance ignores the uncertainty of x0)."""
    diffusion = GaussianDiffusion(steps=1000, predict=predict)
    x = draw(diffusion, predict, steps=50, eta=eta)
    ab = np.asarray(diffusion.schedule.alphas_cumprod, np.float64)[improved_ddpm_kept(1000, 50)]
    assert_moments(x, chain_moments(ab, eta), tolerance=0.01)
    assert_moments(x, (MU, STD), tolerance=0.04)


def test_respaced_sampling_passes_the_original_timesteps_to_the_denoiser():
    diffusion = GaussianDiffusion(steps=1000)
    seen = []

    def denoise(x_t, t):
        jax.debug.callback(lambda t: seen.append(np.asarray(t)), t, ordered=True)
        return jnp.zeros_like(x_t)

    for method in ("ddim", "ddpm"):
        seen.clear()
        jax.jit(lambda key, method=method: diffusion.sample(denoise, (2, 2, 2, 1), key, steps=50, method=method))(
            jax.random.key(0)
        ).block_until_ready()
        jax.effects_barrier()
        np.testing.assert_array_equal(np.stack(seen), np.repeat(improved_ddpm_kept(1000, 50)[::-1, None], 2, axis=1))


@pytest.mark.parametrize("method", ["ddim", "ddpm"])
def test_learned_variance_output_samples(method):
    diffusion = GaussianDiffusion(steps=20, learn_sigma=True)
    denoise = optimal_prediction(diffusion, "eps")
    with_variance = lambda x_t, t: jnp.concatenate([denoise(x_t, t), jnp.zeros_like(x_t)], axis=-1)  # noqa: E731
    x = jax.jit(lambda key: diffusion.sample(with_variance, (4, 3, 3, 2), key, steps=10, method=method))(
        jax.random.key(1)
    )
    assert x.shape == (4, 3, 3, 2) and np.all(np.isfinite(np.asarray(x)))
    assert np.all(np.abs(np.asarray(x)) <= 1.0)  # clipped x0 at the last step


@pytest.mark.parametrize("method", ["ddim", "ddpm"])
def test_sampling_jits_and_traces_once_for_a_fixed_shape(method):
    diffusion = GaussianDiffusion(steps=30)
    chex.clear_trace_counter()  # the counter is keyed by the function's code, shared by the parametrized cases

    @jax.jit
    @chex.assert_max_traces(n=1)
    def sample(key):
        return diffusion.sample(lambda x_t, t: 0.5 * x_t, (3, 2, 2, 1), key, steps=7, method=method, eta=0.5)

    first, second = sample(jax.random.key(0)), sample(jax.random.key(1))
    assert first.shape == second.shape == (3, 2, 2, 1)
    assert not np.allclose(np.asarray(first), np.asarray(second))


def test_asking_for_at_least_as_many_steps_as_the_process_has_samples_on_every_step():
    def denoise_fn(x_t, t):
        return jnp.zeros_like(x_t)

    process = GaussianDiffusion(steps=10)
    every = process.sample(denoise_fn, (1, 2, 2, 1), jax.random.key(0), steps=None)
    more = process.sample(denoise_fn, (1, 2, 2, 1), jax.random.key(0), steps=20)
    np.testing.assert_array_equal(every, more)
