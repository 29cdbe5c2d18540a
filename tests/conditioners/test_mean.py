"""The ``mean`` conditioner: one vector per set from the pooled encoding, shapes for every posterior, contracts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff.conditioners import MeanConditioner
from fsdiff.typing import SetEncoding

ENCODING = SetEncoding(
    tokens=jnp.asarray(np.random.default_rng(0).normal(size=(16, 4, 8)), jnp.float32),
    pooled=jnp.asarray(np.random.default_rng(1).normal(size=(16, 8)), jnp.float32),
)


@given(
    b=st.integers(1, 3),
    d=st.integers(1, 12),
    e=st.none() | st.integers(1, 12),
    posterior=st.sampled_from(["none", "gaussian", "discrete"]),
    null_prob=st.sampled_from([0.0, 0.5]),
    keyed=st.booleans(),
)
def test_output_is_a_vector_of_the_conditioning_width(b, d, e, posterior, null_prob, keyed):
    model = nnx.eval_shape(
        lambda: MeanConditioner(
            width=e, posterior=posterior, codebook_size=3, null_prob=null_prob, in_dim=d, rngs=nnx.Rngs(0)
        )
    )
    encoding = SetEncoding(
        tokens=jax.ShapeDtypeStruct((b, 5, d), jnp.float32), pooled=jax.ShapeDtypeStruct((b, d), jnp.float32)
    )
    key = jax.random.key(0) if keyed else None
    out = jax.eval_shape(lambda m, enc: m(enc, key), model, encoding)
    null = jax.eval_shape(lambda m, enc: m.null(enc), model, encoding)
    for cond in (out, null):
        assert cond.provides == MeanConditioner.provides == frozenset({"vector"})
        assert cond.vector.shape == (b, e or d) and cond.kl.shape == (b,)


def test_registered_as_mean_with_its_options():
    assert fsdiff.lookup("conditioner", "mean") is MeanConditioner
    options = fsdiff.describe("conditioner", "mean").options
    assert list(options) == ["width", "posterior", "codebook_size", "temperature", "null_prob"]


def test_the_vector_depends_on_the_pooled_encoding_only():
    model = MeanConditioner(width=6, in_dim=8, rngs=nnx.Rngs(0))
    other_tokens = SetEncoding(tokens=-ENCODING.tokens, pooled=ENCODING.pooled)
    np.testing.assert_array_equal(model(ENCODING).vector, model(other_tokens).vector)


def test_null_prob_one_gives_the_null_conditioning():
    model = MeanConditioner(width=6, posterior="gaussian", null_prob=1.0, in_dim=8, rngs=nnx.Rngs(0))
    out, null = model(ENCODING, jax.random.key(0)), model.null(ENCODING)
    np.testing.assert_array_equal(out.vector, null.vector)
    np.testing.assert_array_equal(out.kl, np.zeros(16))
    np.testing.assert_array_equal(null.kl, np.zeros(16))


def test_a_batch_mismatch_is_a_contract_error():
    model = MeanConditioner(in_dim=8, rngs=nnx.Rngs(0))
    with pytest.raises(fsdiff.ContractError, match=r"conditioner:mean: argument 'encoding' field 'pooled'"):
        model(SetEncoding(tokens=ENCODING.tokens, pooled=jnp.zeros((3, 8), jnp.float32)))
