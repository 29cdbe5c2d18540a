"""The evaluated generators: unconditional samples are exactly the null prediction of ``model.sample`` (guidance
0), and the copy baseline cycles the context images."""

import jax
import jax.numpy as jnp
import numpy as np

from fsdiff.data import context_sets
from fsdiff.evaluation import copy_samples, unconditional_samples
from fsdiff.training import load
from fsdiff.training.run import read_config, run_splits


def test_copies_cycle_through_the_context():
    context = np.arange(2 * 3, dtype=np.float32).reshape(2, 3, 1, 1, 1)
    copies = copy_samples(context, 5)
    assert copies.shape == (2, 5, 1, 1, 1)
    assert copies[1, :, 0, 0, 0].tolist() == [3.0, 4.0, 5.0, 3.0, 4.0]


def test_unconditional_samples_equal_model_sample_with_guidance_zero(levels_run):
    model = load(levels_run)
    context = context_sets(run_splits(read_config(levels_run)).test, shots=3, seed=0).context
    key = jax.random.key(3)
    null = unconditional_samples(model, context.shape[0], 3, key, steps=5)
    guided = np.asarray(model.sample(jnp.asarray(context), 3, key, steps=5, guidance=0.0))
    assert null.shape == guided.shape == (4, 3, 8, 8, 1)
    np.testing.assert_allclose(null, guided, atol=1e-4)
