"""``FlatStep``, the step as the loop runs it: on the state's leaves it computes exactly what the step computes on
the ``TrainState``, donates the leaves it is given, and returns a ``TrainState`` of the same structure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from fsdiff.training import FlatStep, TrainState, fill_run_config, make_optimizer, make_train_step, new_training
from tests.runs import tiny_config


def _step_and_state():
    model, state, options = new_training(fill_run_config(tiny_config()))
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    return make_train_step(graphdef, rest, make_optimizer(options, params), options), state


def test_flat_step_equals_the_step_on_the_train_state():
    step, state = _step_and_state()
    flat = FlatStep(step, state)
    leaves = flat.leaves(jax.tree.map(jnp.copy, state))
    batch = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (8, 3, 8, 8, 1)), jnp.float32)
    tree_step = jax.jit(step)
    for i in range(3):
        state, metrics = tree_step(state, batch, jax.random.key(i))
        leaves, flat_metrics = flat(leaves, batch, jax.random.key(i))
    rebuilt = flat.state(leaves)
    assert isinstance(rebuilt, TrainState) and jax.tree.structure(rebuilt) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(rebuilt), strict=True):
        np.testing.assert_array_equal(a, b)
    assert jax.device_get(metrics) == jax.device_get(flat_metrics)


def test_flat_step_donates_the_leaves_it_is_given():
    step, state = _step_and_state()
    flat = FlatStep(step, state)
    leaves = flat.leaves(state)
    batch = jnp.zeros((8, 3, 8, 8, 1), jnp.float32)
    flat(leaves, batch, jax.random.key(0))
    with pytest.raises(RuntimeError, match="deleted|donated"):
        np.asarray(leaves[0])
