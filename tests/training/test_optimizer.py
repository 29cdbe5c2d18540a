"""Per-module learning rates: a frozen module really does not move (Adam included); the schedule warms up."""

import jax
import numpy as np
import optax
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

import fsdiff
from fsdiff.training import TrainOptions, fill_run_config, learning_rate, make_optimizer, make_train_step, new_training
from tests.runs import tiny_config


def _steps(options_overrides, n=3):
    cfg = fill_run_config(tiny_config(**options_overrides))
    model, state, options = new_training(cfg)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    step = jax.jit(make_train_step(graphdef, rest, make_optimizer(options, params), options))
    batch = np.random.default_rng(0).uniform(-1, 1, (8, 3, 8, 8, 1)).astype(np.float32)
    before = jax.device_get(state.params)
    for i in range(n):
        state, metrics = step(state, batch, jax.random.key(i))
    return before, jax.device_get(state.params), metrics


def test_a_frozen_module_does_not_move_and_the_others_do():
    before, after, _ = _steps({"lr_multipliers": {"encoder": 0, "conditioner": 0.5}})
    for leaf_before, leaf_after in zip(
        jax.tree.leaves(before["encoder"]), jax.tree.leaves(after["encoder"]), strict=True
    ):
        np.testing.assert_array_equal(leaf_before, leaf_after)
    moved = [
        not np.array_equal(a, b)
        for a, b in zip(jax.tree.leaves(before["denoiser"]), jax.tree.leaves(after["denoiser"]), strict=True)
    ]
    assert any(moved)


def test_unknown_module_in_lr_multipliers_is_a_config_error():
    with pytest.raises(fsdiff.ConfigError, match=r"train.lr_multipliers.encodr: unknown module"):
        options = TrainOptions(lr_multipliers={"encodr": 0.0})
        make_optimizer(options, {"encoder": {}})


def test_learning_rate_warms_up_then_decays():
    schedule = learning_rate(TrainOptions(steps=100, warmup=10, lr=1e-3, final_lr_fraction=0.1))
    assert float(schedule(0, 0.0)) == 0.0
    assert float(schedule(10, 0.1)) == pytest.approx(1e-3)
    assert float(schedule(100, 1.0)) == pytest.approx(1e-4)


@settings(max_examples=20, deadline=None)
@given(step=st.integers(0, 100))
def test_learning_rate_by_steps_is_optax_warmup_cosine(step):
    options = TrainOptions(steps=100, warmup=10, lr=1e-3, final_lr_fraction=0.1)
    expected = optax.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 100, end_value=1e-4)(step)
    assert float(learning_rate(options)(step, step / 100)) == pytest.approx(float(expected), rel=1e-5, abs=1e-9)


def test_learning_rate_decays_with_progress_not_only_steps():
    """A run whose time limit is 60 % spent at step 30 of 100 has the rate of step 60 (after its warm-up)."""
    schedule = learning_rate(TrainOptions(steps=100, warmup=10, lr=1e-3, final_lr_fraction=0.1))
    assert float(schedule(30, 0.6)) == pytest.approx(float(schedule(60, 0.6)))
    assert float(schedule(30, 0.6)) < float(schedule(30, 0.3))
    assert float(schedule(5, 1.0)) == pytest.approx(0.5 * 1e-4)


def test_step_metrics_include_gradient_norm_and_kl_ramp():
    _, _, metrics = _steps({"kl_warmup": 4, "kl_weight": 2.0}, n=2)
    assert float(metrics["kl_weight"]) == pytest.approx(2.0 * 1 / 4)
    assert np.isfinite(float(metrics["grad_norm"])) and float(metrics["grad_norm"]) > 0
