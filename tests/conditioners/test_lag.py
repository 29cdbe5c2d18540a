"""The ``lag`` conditioner: per-token conditioning for cross-attention, shapes for every posterior, contracts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff.conditioners import LagConditioner
from fsdiff.typing import SetEncoding

ENCODING = SetEncoding(
    tokens=jnp.asarray(np.random.default_rng(0).normal(size=(16, 4, 8)), jnp.float32),
    pooled=jnp.asarray(np.random.default_rng(1).normal(size=(16, 8)), jnp.float32),
)


@given(
    b=st.integers(1, 3),
    p=st.integers(1, 6),
    d=st.integers(1, 12),
    e=st.none() | st.integers(1, 12),
    posterior=st.sampled_from(["none", "gaussian", "discrete"]),
    null_prob=st.sampled_from([0.0, 0.5]),
    keyed=st.booleans(),
)
def test_output_is_one_token_per_input_token(b, p, d, e, posterior, null_prob, keyed):
    model = nnx.eval_shape(
        lambda: LagConditioner(
            width=e, posterior=posterior, codebook_size=3, null_prob=null_prob, in_dim=d, rngs=nnx.Rngs(0)
        )
    )
    encoding = SetEncoding(
        tokens=jax.ShapeDtypeStruct((b, p, d), jnp.float32), pooled=jax.ShapeDtypeStruct((b, d), jnp.float32)
    )
    key = jax.random.key(0) if keyed else None
    out = jax.eval_shape(lambda m, enc: m(enc, key), model, encoding)
    null = jax.eval_shape(lambda m, enc: m.null(enc), model, encoding)
    for cond in (out, null):
        assert cond.provides == LagConditioner.provides == frozenset({"tokens"})
        assert cond.tokens.shape == (b, p, e or d) and cond.kl.shape == (b,)


def test_registered_as_lag_with_its_options():
    assert fsdiff.lookup("conditioner", "lag") is LagConditioner
    options = fsdiff.describe("conditioner", "lag").options
    assert list(options) == ["width", "posterior", "codebook_size", "temperature", "null_prob"]


def test_each_output_token_depends_on_its_own_input_token_only():
    model = LagConditioner(width=6, in_dim=8, rngs=nnx.Rngs(0))
    changed = SetEncoding(tokens=ENCODING.tokens.at[:, 0].multiply(-1.0), pooled=ENCODING.pooled)
    before, after = np.asarray(model(ENCODING).tokens), np.asarray(model(changed).tokens)
    assert not np.allclose(before[:, 0], after[:, 0])
    np.testing.assert_array_equal(before[:, 1:], after[:, 1:])


def test_null_prob_one_gives_the_null_token_at_every_position():
    model = LagConditioner(width=6, posterior="gaussian", null_prob=1.0, in_dim=8, rngs=nnx.Rngs(0))
    out, null = model(ENCODING, jax.random.key(0)), model.null(ENCODING)
    np.testing.assert_array_equal(out.tokens, null.tokens)
    np.testing.assert_array_equal(null.tokens, np.broadcast_to(np.asarray(null.tokens)[:1, :1], (16, 4, 6)))
    np.testing.assert_array_equal(out.kl, np.zeros(16))


def test_wrong_token_rank_is_a_contract_error():
    model = LagConditioner(in_dim=8, rngs=nnx.Rngs(0))
    with pytest.raises(fsdiff.ContractError, match=r"conditioner:lag: argument 'encoding' field 'tokens'"):
        model(SetEncoding(tokens=jnp.zeros((2, 8), jnp.float32), pooled=ENCODING.pooled))
