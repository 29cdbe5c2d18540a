"""Schedules: float64 parity with the papers' formulas, validity for any step count, and respacing that keeps the
marginals at the kept timesteps."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsdiff.diffusion.schedules import BETA_SCHEDULES, Schedule, cosine_betas, linear_betas, respace
from fsdiff.errors import ConfigError


def reference_cosine_betas(steps: int) -> np.ndarray:
    """Nichol & Dhariwal (2021), eq. 17, one timestep at a time."""

    def alpha_bar(u: float) -> float:
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2

    return np.array([min(1 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), 0.999) for i in range(steps)])


def test_cosine_betas_match_improved_ddpm_formula_in_float64():
    for steps in (1, 7, 1000):
        np.testing.assert_allclose(cosine_betas(steps), reference_cosine_betas(steps), rtol=1e-12, atol=0)
    assert cosine_betas(1000).dtype == np.float64


def test_linear_betas_are_ddpm_at_1000_steps_and_rescaled_otherwise():
    np.testing.assert_allclose(linear_betas(1000), np.linspace(1e-4, 0.02, 1000), rtol=1e-12)
    np.testing.assert_allclose(linear_betas(500), np.linspace(2e-4, 0.04, 500), rtol=1e-12)
    assert linear_betas(1000).dtype == np.float64


@given(steps=st.integers(1, 3000), name=st.sampled_from(sorted(BETA_SCHEDULES)))
def test_every_step_count_gives_a_valid_schedule(steps, name):
    betas = BETA_SCHEDULES[name](steps)
    assert betas.shape == (steps,)
    assert np.all((betas > 0) & (betas <= 0.999))
    assert np.all(np.diff(np.cumprod(1 - betas)) < 0)


@given(steps=st.integers(1, 2000), data=st.data())
def test_respacing_keeps_the_marginals_at_evenly_spaced_kept_timesteps(steps, data):
    num_steps = data.draw(st.integers(1, steps))
    betas = cosine_betas(steps)
    kept, spaced = respace(betas, num_steps)
    assert kept.shape == spaced.shape == (num_steps,)
    assert kept[-1] == steps - 1
    assert num_steps == 1 or kept[0] == 0
    assert np.all(np.diff(kept) >= 1)
    if num_steps > 1:
        gaps = np.diff(kept)
        assert gaps.max() - gaps.min() <= 1
    np.testing.assert_allclose(np.cumprod(1 - spaced), np.cumprod(1 - betas)[kept], rtol=1e-9)


def test_respacing_to_every_step_is_the_identity():
    betas = linear_betas(100)
    kept, spaced = respace(betas, 100)
    np.testing.assert_array_equal(kept, np.arange(100))
    np.testing.assert_allclose(spaced, betas, rtol=1e-12)


def test_respacing_beyond_the_step_count_is_a_config_error():
    with pytest.raises(ConfigError, match=r"diffusion.steps: cannot respace 10 steps to 11: need 1..10"):
        respace(linear_betas(10), 11)


def test_schedule_is_cast_once_to_float32_and_to_float64_under_x64():
    schedule = Schedule.from_betas(cosine_betas(10))
    assert schedule.betas.dtype == jnp.float32
    assert schedule.timesteps.dtype == jnp.int32
    with jax.enable_x64(True):
        assert Schedule.from_betas(cosine_betas(10)).alphas_cumprod.dtype == jnp.float64


def test_schedule_built_inside_a_trace_is_concrete():
    built = []
    jax.jit(lambda x: built.append(Schedule.from_betas(cosine_betas(4))) or x)(0.0)
    np.testing.assert_allclose(np.asarray(built[0].betas), cosine_betas(4), rtol=1e-6)  # a tracer would raise


def test_single_step_schedule_has_finite_coefficients():
    schedule = Schedule.from_betas(cosine_betas(1))
    for value in vars(schedule).values():
        assert np.all(np.isfinite(np.asarray(value)))
