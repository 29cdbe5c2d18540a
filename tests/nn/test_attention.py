"""Attention: the written-out softmax attention equals ``jax.nn.dot_product_attention`` (which it replaced for
speed), and ``leave_one_out`` equals attention over each leave-one-out sequence formed explicitly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from fsdiff.nn.attention import Attention
from fsdiff.nn.sets import others_index

B, N, P, D = 2, 4, 3, 8


def sequences(summary: jax.Array, elements: jax.Array) -> jax.Array:
    """``"(b n) (k + (n-1) p) d"``: each leave-one-out sequence, formed explicitly."""
    b, n, p, d = elements.shape
    others = elements[:, others_index(n)].reshape(b * n, (n - 1) * p, d)
    return jnp.concatenate([summary, others], axis=1)


@pytest.mark.parametrize("learned_temperature", [False, True])
@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_call_matches_jax_dot_product_attention(learned_temperature, cross, masked):
    attention = Attention(
        D, heads=2, context_dim=5 if cross else None, learned_temperature=learned_temperature, rngs=nnx.Rngs(0)
    )
    x = jax.random.normal(jax.random.key(1), (B, 6, D))
    context = jax.random.normal(jax.random.key(2), (B, 7, 5)) if cross else None
    keys = 7 if cross else 6
    mask = jax.random.bernoulli(jax.random.key(3), 0.6, (B, 6, keys)).at[0, 0].set(False) if masked else None
    query = attention.query(x).reshape(B, 6, 2, 4)
    key, value = jnp.split(attention.key_value(x if context is None else context).reshape(B, keys, 4, 4), 2, axis=2)
    scale = None
    if learned_temperature:
        query, scale = query * jnp.exp(attention.log_temperature[...]), 1.0
    expected = jax.nn.dot_product_attention(
        query, key, value, mask=None if mask is None else mask[:, None], scale=scale
    )
    expected = attention.out(expected.reshape(B, 6, 8))
    np.testing.assert_allclose(attention(x, context, mask), expected, atol=1e-5)


@pytest.mark.parametrize("summary_tokens", [1, 2])
@pytest.mark.parametrize("learned_temperature", [False, True])
def test_leave_one_out_equals_attention_over_each_explicit_sequence(summary_tokens, learned_temperature):
    attention = Attention(D, heads=2, learned_temperature=learned_temperature, rngs=nnx.Rngs(0))
    summary = jax.random.normal(jax.random.key(1), (B * N, summary_tokens, D))
    elements = jax.random.normal(jax.random.key(2), (B, N, P, D))
    expected = attention(sequences(summary, elements))
    got = attention.leave_one_out(summary, elements)
    assert got.shape == (B * N, summary_tokens + (N - 1) * P, D)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_leave_one_out_gradients_equal_those_of_the_explicit_sequences():
    attention = Attention(D, heads=2, rngs=nnx.Rngs(0))
    graphdef, params, rest = nnx.split(attention, nnx.Param, ...)
    summary = jax.random.normal(jax.random.key(1), (B * N, 1, D))
    elements = jax.random.normal(jax.random.key(2), (B, N, P, D))

    def loss(params, shared):
        module = nnx.merge(graphdef, params, rest)
        out = module.leave_one_out(summary, elements) if shared else module(sequences(summary, elements))
        return (out**2).sum()

    expected, got = jax.grad(loss)(params, False), jax.grad(loss)(params, True)
    for e, g in zip(jax.tree.leaves(expected), jax.tree.leaves(got), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)
