"""Mixed precision (``model.compute_dtype: bfloat16``): the layers compute in bfloat16, while the parameters, the
optimizer state, the EMA and the loss stay float32, and a bfloat16 step trains as well as a float32 one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import fsdiff
from fsdiff.training import fill_run_config, make_optimizer, make_train_step, new_training
from tests.runs import TINY, tiny_config


def _config(compute_dtype: str) -> dict:
    config = tiny_config(lr=3e-3, warmup=5, steps=60)
    return {**config, "model": {**config["model"], "compute_dtype": compute_dtype}}


def _train(compute_dtype: str, steps: int = 60):
    """``steps`` jitted steps on one fixed batch of structured sets (each set one random pattern plus noise)."""
    model, state, options = new_training(fill_run_config(_config(compute_dtype)))
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    step = jax.jit(make_train_step(graphdef, rest, make_optimizer(options, params), options))
    rng = np.random.default_rng(0)
    patterns = np.tanh(2 * rng.normal(size=(8, 1, 8, 8, 1)))
    batch = np.clip(patterns + 0.05 * rng.normal(size=(8, 3, 8, 8, 1)), -1, 1).astype(np.float32)
    losses = []
    for i in range(steps):
        state, metrics = step(state, batch, jax.random.key(i % 4))
        losses.append(metrics["loss"])
    return state, np.asarray(jax.device_get(losses))


def test_bfloat16_compute_trains_a_toy_problem_as_well_as_float32():
    _, losses32 = _train("float32")
    state16, losses16 = _train("bfloat16")
    # The same key cycle repeats every 4 steps: compare like with like, first and last cycle.
    first32, last32, last16 = losses32[:4].mean(), losses32[-4:].mean(), losses16[-4:].mean()
    assert last32 < 0.5 * first32  # the problem is learned at all
    assert abs(last16 - last32) < 0.1 * last32
    leaves = jax.tree.leaves((state16.params, state16.opt_state, state16.ema))
    assert {leaf.dtype for leaf in leaves if jnp.issubdtype(leaf.dtype, jnp.floating)} == {jnp.dtype(jnp.float32)}


def test_bfloat16_layers_compute_in_bfloat16_and_the_loss_is_float32():
    model = fsdiff.build_model({**TINY["model"], "compute_dtype": "bfloat16"})
    layers = [node for _, node in nnx.iter_graph(model) if isinstance(node, nnx.Linear | nnx.Conv | nnx.LayerNorm)]
    assert layers and all(layer.dtype == jnp.bfloat16 for layer in layers)
    params = jax.tree.leaves(nnx.state(model, nnx.Param))
    assert {p.dtype for p in params} == {jnp.dtype(jnp.float32)}
    x = jnp.zeros((2, 3, 8, 8, 1), jnp.float32)
    with jax.numpy_dtype_promotion("standard"):
        hidden = jax.eval_shape(lambda v: model.denoiser.blocks[0].attn.query(v), jnp.zeros((2, 4, 16)))
        loss, metrics = model.loss(x, jax.random.key(0))
    assert hidden.dtype == jnp.bfloat16
    assert loss.dtype == jnp.float32 and np.isfinite(float(loss))


@pytest.mark.parametrize("compute_dtype", ["float32", "bfloat16"])
def test_compute_dtype_round_trips_through_the_config(compute_dtype):
    model = fsdiff.build_model({**TINY["model"], "compute_dtype": compute_dtype}, seed=3)
    assert model.config["compute_dtype"] == compute_dtype
    rebuilt = fsdiff.build_model(model.config, seed=3)
    assert rebuilt.config == model.config
    assert fsdiff.fill_config(model.config) == model.config
    kinds = {node.dtype for _, node in nnx.iter_graph(rebuilt) if isinstance(node, nnx.Linear)}
    assert kinds == ({None} if compute_dtype == "float32" else {jnp.bfloat16})


def test_default_compute_dtype_is_float32_and_an_unknown_one_is_a_config_error():
    assert fsdiff.fill_config(TINY["model"])["compute_dtype"] == "float32"
    with pytest.raises(fsdiff.ConfigError, match=r"model.compute_dtype: expected .*'bfloat16'.*got str 'float16'"):
        fsdiff.build_model({**TINY["model"], "compute_dtype": "float16"})
