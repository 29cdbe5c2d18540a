"""GaussianDiffusion: float64 parity of the forward process, posterior and parametrizations with an independent
NumPy reference; the reverse step's variance options; the losses (incl. the hybrid bound's stop-gradient); the
bits/dim bound; and the constructor as a config schema."""

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from beartype.door import is_bearable

from fsdiff.diffusion import GaussianDiffusion
from fsdiff.errors import ContractError

SHAPE = (6, 3, 3, 2)


def reference_alphas_cumprod(steps: int, schedule: str) -> np.ndarray:
    """Float64 ``alpha_bar`` per timestep, straight from Ho et al. (2020) and Nichol & Dhariwal (2021)."""
    if schedule == "linear":
        scale = 1000 / steps
        betas = np.minimum([scale * (1e-4 + (0.02 - 1e-4) * i / max(steps - 1, 1)) for i in range(steps)], 0.999)
    else:
        f = [math.cos((i / steps + 0.008) / 1.008 * math.pi / 2) ** 2 for i in range(steps + 1)]
        betas = np.array([min(1 - f[i + 1] / f[i], 0.999) for i in range(steps)])
    return np.cumprod(1 - betas)


def reference_posterior(ab: np.ndarray, t: np.ndarray, x0: np.ndarray, x_t: np.ndarray):
    """``q(x_{t-1} | x_t, x0)`` by Bayes' rule on ``q(x_{t-1} | x0) q(x_t | x_{t-1})``; ``x_{-1} = x0`` exactly."""
    ab_t = ab[t][:, None, None, None]
    ab_prev = np.where(t > 0, ab[np.maximum(t - 1, 0)], 1.0)[:, None, None, None]
    alpha = ab_t / ab_prev
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = 1 / (1 - ab_prev) + alpha / (1 - alpha)
        variance = np.where(ab_prev < 1, 1 / precision, 0.0)
        mean = np.where(
            ab_prev < 1, variance * (np.sqrt(ab_prev) * x0 / (1 - ab_prev) + np.sqrt(alpha) * x_t / (1 - alpha)), x0
        )
    return mean, np.broadcast_to(variance, x0.shape)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_forward_process_posterior_and_conversions_match_numpy_in_float64(schedule):
    steps = 50
    ab = reference_alphas_cumprod(steps, schedule)
    rng = np.random.default_rng(0)
    x0, noise = rng.normal(size=(2, *SHAPE))
    t = np.array([0, 1, 2, 17, 48, 49])
    sqrt_ab, sqrt_1m = np.sqrt(ab[t])[:, None, None, None], np.sqrt(1 - ab[t])[:, None, None, None]
    x_t = sqrt_ab * x0 + sqrt_1m * noise
    v = sqrt_ab * noise - sqrt_1m * x0
    mean, variance = reference_posterior(ab, t, x0, x_t)
    with jax.enable_x64(True):
        diffusion = GaussianDiffusion(steps=steps, schedule=schedule)
        jx0, jnoise, jx_t, jt, jv = (jnp.asarray(a) for a in (x0, noise, x_t, t, v))
        got = {
            "alphas_cumprod": diffusion.schedule.alphas_cumprod,
            "q_sample": diffusion.q_sample(jx0, jt, jnoise),
            "posterior_mean": diffusion.q_posterior_mean_variance(jx0, jx_t, jt)[0],
            "posterior_variance": diffusion.q_posterior_mean_variance(jx0, jx_t, jt)[1],
            "x0_from_eps": diffusion.x0_from_eps(jx_t, jt, jnoise),
            "eps_from_x0": diffusion.eps_from_x0(jx_t, jt, jx0),
            "x0_from_v": diffusion.x0_from_v(jx_t, jt, jv),
            "v_from_x0_eps": diffusion.v_from_x0_eps(jx0, jt, jnoise),
        }
        assert all(value.dtype == jnp.float64 for value in got.values())
    expected = {
        "alphas_cumprod": ab,
        "q_sample": x_t,
        "posterior_mean": mean,
        "posterior_variance": variance,
        "x0_from_eps": x0,
        "eps_from_x0": noise,
        "x0_from_v": x0,
        "v_from_x0_eps": v,
    }
    for name, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[name]), value, rtol=1e-9, atol=1e-12, err_msg=name)


def test_schedule_is_float32_by_default():
    diffusion = GaussianDiffusion(steps=10)
    assert diffusion.schedule.alphas_cumprod.dtype == jnp.float32
    assert diffusion.betas.dtype == np.float64


def test_learned_range_spans_the_small_and_large_fixed_variances():
    """Output -1 gives the posterior variance, +1 gives beta (improved DDPM's learned-range interpolation)."""
    x_t = jax.random.normal(jax.random.key(0), SHAPE)
    t = jnp.array([0, 1, 3, 5, 8, 9])
    learned = GaussianDiffusion(steps=10, learn_sigma=True)
    for fill, variance in [(-1.0, "small"), (1.0, "large")]:
        output = jnp.concatenate([x_t, jnp.full(SHAPE, fill)], axis=-1)
        fixed = jax.jit(GaussianDiffusion(steps=10, variance=variance).p_mean_variance)(x_t, x_t, t)
        got = jax.jit(learned.p_mean_variance)(output, x_t, t)
        np.testing.assert_allclose(np.asarray(got.mean), np.asarray(fixed.mean), rtol=1e-6)
        rows = slice(None) if variance == "small" else slice(1, None)  # large differs at t=0 only (log beta_0)
        np.testing.assert_allclose(np.asarray(got.log_variance[rows]), np.asarray(fixed.log_variance[rows]), rtol=1e-6)


@pytest.mark.parametrize("predict", ["eps", "x0", "v"])
def test_exact_prediction_has_zero_mse_and_the_true_posterior_mean(predict):
    diffusion = GaussianDiffusion(steps=20, predict=predict)
    key_x, key_n = jax.random.split(jax.random.key(1))
    x0 = jax.random.uniform(key_x, SHAPE, minval=-1.0, maxval=1.0)
    noise = jax.random.normal(key_n, SHAPE)
    t = jnp.array([0, 2, 5, 11, 18, 19])
    x_t = diffusion.q_sample(x0, t, noise)
    output = {"eps": noise, "x0": x0, "v": diffusion.v_from_x0_eps(x0, t, noise)}[predict]
    losses = diffusion.training_losses(output, x0, x_t, t, noise)
    np.testing.assert_allclose(np.asarray(losses["mse"]), 0.0, atol=1e-10)
    np.testing.assert_array_equal(np.asarray(losses["vb"]), 0.0)
    prediction = diffusion.p_mean_variance(output, x_t, t, clip=False)
    np.testing.assert_allclose(np.asarray(prediction.x0), np.asarray(x0), atol=2e-2)  # eps at t=T-1: 1/sqrt(ab)
    np.testing.assert_allclose(
        np.asarray(prediction.mean), np.asarray(diffusion.q_posterior_mean_variance(x0, x_t, t)[0]), atol=2e-4
    )


def test_mse_is_the_mean_squared_error_of_the_predicted_quantity():
    diffusion = GaussianDiffusion(steps=10)
    x0, noise = jnp.zeros(SHAPE), jnp.ones(SHAPE)
    t = jnp.zeros(SHAPE[0], jnp.int32)
    losses = diffusion.training_losses(jnp.full(SHAPE, 3.0), x0, diffusion.q_sample(x0, t, noise), t, noise)
    np.testing.assert_allclose(np.asarray(losses["mse"]), 4.0)


def test_hybrid_bound_is_positive_and_trains_only_the_variance():
    diffusion = GaussianDiffusion(steps=20, learn_sigma=True)
    keys = jax.random.split(jax.random.key(2), 3)
    x0 = jnp.round(jax.random.uniform(keys[0], SHAPE, minval=-1.0, maxval=1.0) * 127.5) / 127.5
    noise = jax.random.normal(keys[1], SHAPE)
    t = jnp.array([0, 1, 4, 9, 15, 19])
    x_t = diffusion.q_sample(x0, t, noise)
    output = jax.random.normal(keys[2], (*SHAPE[:3], 2 * SHAPE[3])) * 0.1

    @jax.jit
    def vb_and_gradients(output):
        def total(output, name):
            return diffusion.training_losses(output, x0, x_t, t, noise)[name].sum()

        vb = diffusion.training_losses(output, x0, x_t, t, noise)["vb"]
        return vb, jax.grad(total)(output, "vb"), jax.grad(total)(output, "mse")

    vb, vb_grad, mse_grad = (np.asarray(a) for a in vb_and_gradients(output))
    assert np.all(np.isfinite(vb)) and np.all(vb > 0)
    c = SHAPE[3]
    np.testing.assert_array_equal(vb_grad[..., :c], 0.0)
    assert np.all(np.abs(vb_grad[..., c:]).sum(axis=(1, 2, 3)) > 0)
    np.testing.assert_array_equal(mse_grad[..., c:], 0.0)


def test_wrong_output_channels_is_a_contract_error():
    x = jnp.zeros(SHAPE)
    t = jnp.zeros(SHAPE[0], jnp.int32)
    with pytest.raises(
        ContractError, match=r"model output has 2 channels, expected 4 for images with 2 \(learn_sigma=True\)"
    ):
        GaussianDiffusion(steps=10, learn_sigma=True).p_mean_variance(x, x, t)


def optimal_eps(diffusion: GaussianDiffusion, mu: float, s: float):
    """``E[eps | x_t]`` for data ~ N(mu, s²) per pixel."""
    ab_all = diffusion.schedule.alphas_cumprod

    def denoise(x_t, t):
        ab = ab_all[t][:, None, None, None]
        return jnp.sqrt(1.0 - ab) * (x_t - jnp.sqrt(ab) * mu) / (ab * s**2 + 1.0 - ab)

    return denoise


def test_bits_per_dim_is_finite_positive_and_lower_for_a_better_predictor():
    mu, s = 0.0, 0.3
    diffusion = GaussianDiffusion(steps=100)
    z = jax.random.normal(jax.random.key(3), (16, 4, 4, 1)) * s + mu
    x0 = jnp.round((jnp.clip(z, -1.0, 1.0) + 1.0) * 127.5) / 127.5 - 1.0
    denoise = optimal_eps(diffusion, mu, s)

    @jax.jit
    def nll(weight):  # weight 1: the optimal predictor; weight 0: always predicts zero noise
        return diffusion.nll_bits_per_dim(lambda x_t, t: weight * denoise(x_t, t), x0, jax.random.key(4))

    optimal, zeros = np.asarray(nll(1.0)), np.asarray(nll(0.0))
    assert optimal.shape == (16,)
    assert np.all(np.isfinite(optimal)) and np.all(optimal > 0)
    assert optimal.mean() < zeros.mean()
    # A bound on the likelihood cannot beat the data's entropy, log2(s · 127.5 · sqrt(2πe)) bits for 8-bit N(mu, s²).
    entropy = math.log2(s * 127.5 * math.sqrt(2 * math.pi * math.e))
    assert entropy - 0.1 < optimal.mean() < entropy + 1.5


def test_constructor_is_a_keyword_only_typed_defaulted_config_schema():
    diffusion = GaussianDiffusion()
    for name, parameter in inspect.signature(GaussianDiffusion).parameters.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert is_bearable(parameter.default, parameter.annotation), name
        assert diffusion.config[name] == parameter.default
    assert not is_bearable(0, inspect.signature(GaussianDiffusion).parameters["steps"].annotation)
    rebuilt = GaussianDiffusion(**{**diffusion.config, "predict": "v"})
    assert rebuilt.config["predict"] == "v"
    assert repr(rebuilt).startswith("GaussianDiffusion(steps=1000, schedule='cosine', predict='v'")
