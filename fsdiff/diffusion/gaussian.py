"""``GaussianDiffusion``: the forward process, the eps / x0 / v parametrizations, the training losses, the exact
variational bound and sampling, for any ``denoise_fn(x_t, t)``."""

import copy
import math
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float, Int, PRNGKeyArray

from fsdiff.diffusion.likelihood import discretized_gaussian_log_likelihood, normal_kl
from fsdiff.diffusion.sampling import Prediction, ddim, ddpm
from fsdiff.diffusion.schedules import BETA_SCHEDULES, Schedule, respace
from fsdiff.errors import ContractError
from fsdiff.typing import DenoiserOutput, Images, PerSet, PositiveInt

Steps = Int[Array, "b"]
DenoiseFn = Callable[[Images, Steps], DenoiserOutput]


class GaussianDiffusion:
    """Discrete-time Gaussian diffusion (Ho et al. 2020) with improved DDPM's cosine schedule, learned-range
    variance, hybrid loss and respaced sampling (Nichol & Dhariwal 2021), and the v parametrization (Salimans &
    Ho 2022).

    A plain Python object, not an NNX module: it has no parameters. The keyword-only constructor is the
    ``diffusion`` config section. Every ``t`` is an int array ``b`` of step indices ``0..steps-1``; images are
    ``"b h w c"``. The schedule is computed in float64 NumPy and cast once to float32 (float64 under
    ``jax.enable_x64``), see ``Schedule``.

    ``predict``: what the network outputs (eps, x0 or v). ``learn_sigma``: the network also outputs ``c`` more
    channels in ``[-1, 1]`` interpolating the log-variance between the posterior's and beta's; otherwise the
    variance is fixed, ``variance="small"`` (posterior variance) or ``"large"`` (beta).
    """

    def __init__(
        self,
        *,
        steps: PositiveInt = 1000,
        schedule: Literal["linear", "cosine"] = "cosine",
        predict: Literal["eps", "x0", "v"] = "eps",
        learn_sigma: bool = False,
        variance: Literal["small", "large"] = "small",
    ):
        self.config = {
            "steps": steps,
            "schedule": schedule,
            "predict": predict,
            "learn_sigma": learn_sigma,
            "variance": variance,
        }
        self.steps = steps
        self.predict = predict
        self.learn_sigma = learn_sigma
        self.variance = variance
        self.betas = BETA_SCHEDULES[schedule](steps)  # float64 NumPy, what respacing recomputes from
        self.schedule = Schedule.from_betas(self.betas)

    def __repr__(self) -> str:
        options = ", ".join(f"{name}={value!r}" for name, value in self.config.items())
        return f"GaussianDiffusion({options})"

    def q_sample(self, x0: Images, t: Steps, noise: Images) -> Images:
        """``x_t = √ᾱ_t x0 + √(1 - ᾱ_t) noise``, a draw of ``q(x_t | x0)`` given standard normal ``noise``."""
        s = self.schedule
        return _at(s.sqrt_alphas_cumprod, t, x0) * x0 + _at(s.sqrt_one_minus_alphas_cumprod, t, x0) * noise

    def q_posterior_mean_variance(self, x0: Images, x_t: Images, t: Steps) -> tuple[Images, Images, Images]:
        """Mean, variance and log-variance (clipped at the first step, where the variance is 0) of
        ``q(x_{t-1} | x_t, x0)``."""
        s = self.schedule
        mean = _at(s.posterior_mean_coef_x0, t, x0) * x0 + _at(s.posterior_mean_coef_xt, t, x0) * x_t
        variance = jnp.broadcast_to(_at(s.posterior_variance, t, x0), x0.shape)
        log_variance = jnp.broadcast_to(_at(s.posterior_log_variance_clipped, t, x0), x0.shape)
        return mean, variance, log_variance

    def x0_from_eps(self, x_t: Images, t: Steps, eps: Images) -> Images:
        """``x0 = (x_t - √(1 - ᾱ_t) eps) / √ᾱ_t``."""
        s = self.schedule
        return _at(s.sqrt_recip_alphas_cumprod, t, x_t) * x_t - _at(s.sqrt_recipm1_alphas_cumprod, t, x_t) * eps

    def eps_from_x0(self, x_t: Images, t: Steps, x0: Images) -> Images:
        """``eps = (x_t - √ᾱ_t x0) / √(1 - ᾱ_t)``."""
        s = self.schedule
        return (_at(s.sqrt_recip_alphas_cumprod, t, x_t) * x_t - x0) / _at(s.sqrt_recipm1_alphas_cumprod, t, x_t)

    def x0_from_v(self, x_t: Images, t: Steps, v: Images) -> Images:
        """``x0 = √ᾱ_t x_t - √(1 - ᾱ_t) v``."""
        s = self.schedule
        return _at(s.sqrt_alphas_cumprod, t, x_t) * x_t - _at(s.sqrt_one_minus_alphas_cumprod, t, x_t) * v

    def v_from_x0_eps(self, x0: Images, t: Steps, eps: Images) -> Images:
        """The velocity ``v = √ᾱ_t eps - √(1 - ᾱ_t) x0``."""
        s = self.schedule
        return _at(s.sqrt_alphas_cumprod, t, x0) * eps - _at(s.sqrt_one_minus_alphas_cumprod, t, x0) * x0

    def p_mean_variance(self, model_output: DenoiserOutput, x_t: Images, t: Steps, *, clip: bool = True) -> Prediction:
        """The reverse step ``p(x_{t-1} | x_t)`` from the raw model output: the predicted ``x0`` (clipped to
        ``[-1, 1]`` when ``clip``) goes through the posterior mean, and ``eps`` is recomputed from it."""
        prediction, variance_output = self._split(model_output, x_t)
        s = self.schedule
        x0 = self._x0_from_prediction(prediction, x_t, t)
        if clip:
            x0 = jnp.clip(x0, -1.0, 1.0)
        mean, _, _ = self.q_posterior_mean_variance(x0, x_t, t)
        if variance_output is None:
            fixed = s.posterior_log_variance_clipped if self.variance == "small" else s.large_log_variance
            log_variance = jnp.broadcast_to(_at(fixed, t, x_t), x_t.shape)
        else:
            fraction = (variance_output + 1.0) / 2.0
            log_variance = fraction * _at(s.log_betas, t, x_t) + (1.0 - fraction) * _at(
                s.posterior_log_variance_clipped, t, x_t
            )
        return Prediction(
            mean=mean,
            variance=jnp.exp(log_variance),
            log_variance=log_variance,
            x0=x0,
            eps=self.eps_from_x0(x_t, t, x0),
        )

    def training_losses(
        self, model_output: DenoiserOutput, x0: Images, x_t: Images, t: Steps, noise: Images
    ) -> dict[str, PerSet]:
        """Per-image losses; ``loss = mse + vb`` is the caller's to form.

        ``mse``: mean over pixels of the squared error of the predicted quantity (eps, x0 or v). ``vb``: with
        ``learn_sigma``, the bound's term at ``t`` in bits/dim with the predicted mean under a stop-gradient, so it
        trains only the variance, scaled by ``steps / 1000``: improved DDPM's hybrid objective, ``λ = 1e-3`` on
        the bound's sum over all steps. Zeros without ``learn_sigma``.
        """
        prediction, variance_output = self._split(model_output, x_t)
        mse = jnp.mean((prediction - self._target(x0, t, noise)) ** 2, axis=(1, 2, 3))
        if variance_output is None:
            return {"mse": mse, "vb": jnp.zeros_like(mse)}
        frozen = jnp.concatenate([lax.stop_gradient(prediction), variance_output], axis=-1)
        vb = self._bound_term(frozen, x0, x_t, t, clip=False) * (self.steps / 1000.0)
        return {"mse": mse, "vb": vb}

    def nll_bits_per_dim(self, denoise_fn: DenoiseFn, x0: Images, key: PRNGKeyArray, *, clip: bool = True) -> PerSet:
        """Negative log-likelihood bound of 8-bit images ``x0`` in ``[-1, 1]``, bits/dim: the sum of the bound's
        terms over every step (KL of the posterior to the model, the discretized Gaussian decoder at step 0), each
        at one draw of ``x_t``, plus the prior's KL at the last step. One ``lax.scan`` over the steps."""

        def add_term(total: PerSet, inputs: tuple[Int[Array, ""], Array]) -> tuple[PerSet, None]:
            step, step_key = inputs
            t = jnp.full((x0.shape[0],), step, dtype=jnp.int32)
            x_t = self.q_sample(x0, t, jax.random.normal(step_key, x0.shape, x0.dtype))
            return total + self._bound_term(denoise_fn(x_t, t), x0, x_t, t, clip=clip), None

        num_steps = self.schedule.num_steps
        steps = jnp.arange(num_steps, dtype=jnp.int32)
        total, _ = lax.scan(add_term, jnp.zeros(x0.shape[0], x0.dtype), (steps, jax.random.split(key, num_steps)))
        return total + self._prior_bits_per_dim(x0)

    def sample(
        self,
        denoise_fn: DenoiseFn,
        shape: tuple[int, int, int, int],
        key: PRNGKeyArray,
        *,
        steps: PositiveInt | None = None,
        method: Literal["ddim", "ddpm"] = "ddim",
        eta: float = 0.0,
        clip: bool = True,
    ) -> Images:
        """Images of ``shape`` ``(b, h, w, c)`` from pure noise with DDIM (``eta``) or DDPM ancestral sampling.

        ``steps``: sample on that many of the timesteps (respaced, see ``schedules.respace``) instead of all
        (``None``, or at least ``self.steps``: every step);
        ``denoise_fn`` still receives the original timestep indices. ``eta`` is DDIM's. Jit-able as a whole: one
        ``lax.scan``.
        """
        process = self if steps is None or steps >= self.steps else self._respaced(steps)
        schedule = process.schedule

        def reverse_step(x_t: Images, step: Int[Array, ""]) -> Prediction:
            local = jnp.full((shape[0],), step, dtype=jnp.int32)
            return process.p_mean_variance(denoise_fn(x_t, schedule.timesteps[local]), x_t, local, clip=clip)

        noise_key, loop_key = jax.random.split(key)
        x_T = jax.random.normal(noise_key, shape)
        if method == "ddpm":
            return ddpm(reverse_step, x_T, loop_key, num_steps=schedule.num_steps)
        return ddim(reverse_step, x_T, loop_key, alphas_cumprod=schedule.alphas_cumprod, eta=eta)

    def _respaced(self, num_steps: int) -> "GaussianDiffusion":
        """This process on ``num_steps`` of its timesteps (improved DDPM's ``SpacedDiffusion``): the methods of
        the copy index the kept steps, ``schedule.timesteps`` maps them back."""
        kept, betas = respace(self.betas, num_steps)
        spaced = copy.copy(self)
        spaced.betas = betas
        spaced.schedule = Schedule.from_betas(betas, kept)
        return spaced

    def _split(self, model_output: DenoiserOutput, x_t: Images) -> tuple[Images, Images | None]:
        """The predicted quantity and, with ``learn_sigma``, the variance interpolation in ``[-1, 1]``."""
        channels = x_t.shape[-1]
        expected = 2 * channels if self.learn_sigma else channels
        if model_output.shape[-1] != expected:
            raise ContractError(
                f"diffusion: model output has {model_output.shape[-1]} channels, expected {expected} for images "
                f"with {channels} (learn_sigma={self.learn_sigma})"
            )
        if not self.learn_sigma:
            return model_output, None
        return model_output[..., :channels], model_output[..., channels:]

    def _x0_from_prediction(self, prediction: Images, x_t: Images, t: Steps) -> Images:
        if self.predict == "eps":
            return self.x0_from_eps(x_t, t, prediction)
        if self.predict == "v":
            return self.x0_from_v(x_t, t, prediction)
        return prediction

    def _target(self, x0: Images, t: Steps, noise: Images) -> Images:
        if self.predict == "eps":
            return noise
        if self.predict == "v":
            return self.v_from_x0_eps(x0, t, noise)
        return x0

    def _bound_term(self, model_output: DenoiserOutput, x0: Images, x_t: Images, t: Steps, *, clip: bool) -> PerSet:
        """The bound's term at ``t`` in bits/dim: ``KL(q(x_{t-1} | x_t, x0) || p(x_{t-1} | x_t))``, or the
        decoder's ``-log p(x0 | x_1)`` at the first step."""
        model = self.p_mean_variance(model_output, x_t, t, clip=clip)
        true_mean, _, true_log_variance = self.q_posterior_mean_variance(x0, x_t, t)
        kl = normal_kl(true_mean, true_log_variance, model.mean, model.log_variance)
        decoder = -discretized_gaussian_log_likelihood(x0, mean=model.mean, log_scale=0.5 * model.log_variance)
        return jnp.where(t == 0, _bits_per_dim(decoder), _bits_per_dim(kl))

    def _prior_bits_per_dim(self, x0: Images) -> PerSet:
        """``KL(q(x_T | x0) || N(0, I))`` in bits/dim."""
        s = self.schedule
        last = jnp.full((x0.shape[0],), s.num_steps - 1, dtype=jnp.int32)
        mean = _at(s.sqrt_alphas_cumprod, last, x0) * x0
        log_variance = jnp.broadcast_to(_at(s.log_one_minus_alphas_cumprod, last, x0), x0.shape)
        return _bits_per_dim(normal_kl(mean, log_variance, jnp.zeros_like(x0), jnp.zeros_like(x0)))


def _at(coefficient: Float[Array, "s"], t: Steps, x: Images) -> Float[Array, "b 1 1 1"]:
    """The coefficient at each image's step, in the images' dtype, ready to broadcast over ``h w c``."""
    return coefficient[t].astype(x.dtype)[:, None, None, None]


def _bits_per_dim(nats: Images) -> PerSet:
    return jnp.mean(nats, axis=(1, 2, 3)) / math.log(2.0)
