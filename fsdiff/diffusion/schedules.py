"""Noise schedules: betas in float64 NumPy for any number of steps, respacing to a subset of timesteps, and the
per-step coefficients a Gaussian diffusion indexes, computed in float64 and cast once to JAX arrays."""

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Float64, Int, Integer

from fsdiff.errors import ConfigError

MAX_BETA = 0.999


def linear_betas(steps: int) -> Float64[np.ndarray, "steps"]:
    """Ho et al. (2020)'s betas, linear from 1e-4 to 0.02 at 1000 steps, scaled by ``1000 / steps`` as in improved
    DDPM so that any step count diffuses about as far; clipped to ``MAX_BETA`` because below 20 steps the scaled
    end would pass 1."""
    scale = 1000.0 / steps
    return np.minimum(np.linspace(scale * 1e-4, scale * 0.02, steps, dtype=np.float64), MAX_BETA)


def cosine_betas(steps: int, *, offset: float = 0.008) -> Float64[np.ndarray, "steps"]:
    """Nichol & Dhariwal (2021)'s cosine schedule: ``alpha_bar(u) = cos²((u + s) / (1 + s) · π/2)`` at
    ``u = t / steps``, betas from consecutive ratios, clipped to ``MAX_BETA`` (the last ratio is ~0)."""
    u = np.arange(steps + 1, dtype=np.float64) / steps
    alpha_bar = np.cos((u + offset) / (1.0 + offset) * math.pi / 2.0) ** 2
    return np.minimum(1.0 - alpha_bar[1:] / alpha_bar[:-1], MAX_BETA)


BETA_SCHEDULES: dict[str, Callable[[int], np.ndarray]] = {"linear": linear_betas, "cosine": cosine_betas}


def respace(
    betas: Float64[np.ndarray, "steps"], num_steps: int
) -> tuple[Integer[np.ndarray, "kept"], Float64[np.ndarray, "kept"]]:
    """Keep ``num_steps`` evenly spaced timesteps and recompute betas from the kept ``alphas_cumprod``, so the
    shorter chain has the same marginals ``q(x_t | x_0)`` at the kept steps (improved DDPM's ``SpacedDiffusion``).

    The last timestep is always kept (it is the one matched to the prior), the first whenever ``num_steps >= 2``.
    Returns the kept timesteps (ascending) and their betas.
    """
    steps = betas.shape[0]
    if not 1 <= num_steps <= steps:
        raise ConfigError([("diffusion.steps", f"cannot respace {steps} steps to {num_steps}: need 1..{steps}")])
    # floor(x + 0.5) rather than np.round: banker's rounding could map two points 1 apart onto one timestep.
    kept = (steps - 1) - np.floor(np.linspace(0.0, steps - 1, num_steps) + 0.5).astype(np.int64)[::-1]
    alphas_cumprod = np.cumprod(1.0 - betas)[kept]
    alphas_cumprod_prev = np.concatenate([[1.0], alphas_cumprod[:-1]])
    return kept, 1.0 - alphas_cumprod / alphas_cumprod_prev


@dataclasses.dataclass(frozen=True, eq=False)
class Schedule:
    """Every per-step coefficient of a discrete Gaussian diffusion, indexed by step (an array ``s``).

    ``timesteps`` maps each step to its index in the original, unrespaced process: the index a denoiser sees.
    Everything is computed in float64 NumPy and cast once to JAX's default float dtype: float32, or float64 under
    ``jax.enable_x64`` (which the parity tests use). ``eq=False`` keeps the identity hash, so a schedule is a valid
    static attribute (e.g. inside an NNX module).
    """

    timesteps: Int[Array, "s"]
    betas: Float[Array, "s"]
    log_betas: Float[Array, "s"]
    alphas_cumprod: Float[Array, "s"]
    alphas_cumprod_prev: Float[Array, "s"]
    sqrt_alphas_cumprod: Float[Array, "s"]
    sqrt_one_minus_alphas_cumprod: Float[Array, "s"]
    log_one_minus_alphas_cumprod: Float[Array, "s"]
    sqrt_recip_alphas_cumprod: Float[Array, "s"]
    sqrt_recipm1_alphas_cumprod: Float[Array, "s"]
    posterior_variance: Float[Array, "s"]
    posterior_log_variance_clipped: Float[Array, "s"]
    posterior_mean_coef_x0: Float[Array, "s"]
    posterior_mean_coef_xt: Float[Array, "s"]
    large_log_variance: Float[Array, "s"]

    @classmethod
    def from_betas(
        cls, betas: Float64[np.ndarray, "s"], timesteps: Integer[np.ndarray, "s"] | None = None
    ) -> "Schedule":
        """The coefficients of the chain with these betas; ``timesteps`` defaults to ``0..s-1``."""
        steps = betas.shape[0]
        alphas_cumprod = np.cumprod(1.0 - betas)
        alphas_cumprod_prev = np.concatenate([[1.0], alphas_cumprod[:-1]])
        posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        # The posterior variance is 0 at the first step; its log is clipped to the next step's (improved DDPM),
        # or to the first beta when there is no next step.
        first_variance = posterior_variance[1] if steps > 1 else betas[0]
        coefficients = {
            "betas": betas,
            "log_betas": np.log(betas),
            "alphas_cumprod": alphas_cumprod,
            "alphas_cumprod_prev": alphas_cumprod_prev,
            "sqrt_alphas_cumprod": np.sqrt(alphas_cumprod),
            "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - alphas_cumprod),
            "log_one_minus_alphas_cumprod": np.log(1.0 - alphas_cumprod),
            "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / alphas_cumprod),
            "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / alphas_cumprod - 1.0),
            "posterior_variance": posterior_variance,
            "posterior_log_variance_clipped": np.log(np.concatenate([[first_variance], posterior_variance[1:]])),
            "posterior_mean_coef_x0": betas * np.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod),
            "posterior_mean_coef_xt": (1.0 - alphas_cumprod_prev) * np.sqrt(1.0 - betas) / (1.0 - alphas_cumprod),
            "large_log_variance": np.log(np.concatenate([[first_variance], betas[1:]])),
        }
        timesteps = np.arange(steps) if timesteps is None else timesteps
        float_dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
        # Concrete arrays even when built inside a trace (jit, eval_shape): a schedule outlives the trace.
        with jax.ensure_compile_time_eval():
            return cls(
                timesteps=jnp.asarray(timesteps, dtype=jnp.int32),
                **{name: jnp.asarray(value, dtype=float_dtype) for name, value in coefficients.items()},
            )

    @property
    def num_steps(self) -> int:
        """The number of steps ``s``."""
        return self.betas.shape[0]
