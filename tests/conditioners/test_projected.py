"""What the shipped conditioners share (``ProjectedConditioner``): jitted gradients that are finite through every
posterior, a value in exactly the form the conditioner provides, and a null of the same shape."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from fsdiff.conditioners import LagConditioner, MeanConditioner, SpatialConditioner
from fsdiff.typing import SetEncoding

ENCODING = SetEncoding(
    tokens=jnp.asarray(np.random.default_rng(0).normal(size=(16, 4, 8)), jnp.float32),
    pooled=jnp.asarray(np.random.default_rng(1).normal(size=(16, 8)), jnp.float32),
)
FORMS = ("vector", "tokens", "spatial")


@pytest.mark.parametrize("conditioner", [MeanConditioner, LagConditioner, SpatialConditioner])
@pytest.mark.parametrize("posterior", ["none", "gaussian", "discrete"])
def test_jitted_gradients_are_finite_and_only_the_provided_form_is_filled(conditioner, posterior):
    model = conditioner(width=6, posterior=posterior, codebook_size=5, null_prob=0.5, in_dim=8, rngs=nnx.Rngs(0))
    (form,) = model.provides

    def loss(m):
        cond = m(ENCODING, jax.random.key(0))
        return jnp.square(getattr(cond, form)).mean() + cond.kl.mean()

    value, grads = nnx.jit(nnx.value_and_grad(loss))(model)
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(grads))
    cond, null = model(ENCODING), model.null(ENCODING)
    assert (
        [f for f in FORMS if getattr(cond, f) is not None]
        == [form]
        == [f for f in FORMS if getattr(null, f) is not None]
    )
    assert getattr(cond, form).shape == getattr(null, form).shape and getattr(cond, form).shape[-1] == 6
