"""The evaluated baselines: unconditional samples come from ``model.sample(None, ...)`` (the model's own null
path, nobody else rebuilds it), and the copy baseline cycles the context images."""

import jax
import numpy as np

from fsdiff.evaluation import copy_samples, unconditional_samples
from fsdiff.runs import Run


def test_copies_cycle_through_the_context():
    context = np.arange(2 * 3, dtype=np.float32).reshape(2, 3, 1, 1, 1)
    copies = copy_samples(context, 5)
    assert copies.shape == (2, 5, 1, 1, 1)
    assert copies[1, :, 0, 0, 0].tolist() == [3.0, 4.0, 5.0, 3.0, 4.0]


def test_unconditional_samples_are_the_models_null_samples(levels_run):
    model = Run(levels_run).load()
    key = jax.random.key(3)
    null = unconditional_samples(model, 3, key, steps=5)
    direct = np.asarray(model.sample(None, 3, key, steps=5))
    assert null.shape == direct.shape == (1, 3, 8, 8, 1)
    np.testing.assert_allclose(null, direct, atol=1e-5)
    assert np.all(np.abs(null) <= 1.0) and np.std(null) > 0.0
