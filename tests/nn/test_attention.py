"""Attention: the written-out softmax attention equals ``jax.nn.dot_product_attention`` (which it replaced for
speed) and the fused path chosen on a GPU, and ``leave_one_out`` equals attention over each leave-one-out
sequence formed explicitly, on both paths."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from fsdiff.nn.attention import Attention, fused_implementation
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


@pytest.mark.parametrize("learned_temperature", [False, True])
@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_attention_equals_the_written_out_one(learned_temperature, cross, masked):
    """The GPU path (``jax.nn.dot_product_attention``, XLA's on a CPU) and the CPU path agree, masks included (a
    fully masked row stays uniform in both)."""
    modules = [
        Attention(
            D,
            heads=2,
            context_dim=5 if cross else None,
            learned_temperature=learned_temperature,
            fused=fused,
            rngs=nnx.Rngs(0),
        )
        for fused in (False, True)
    ]
    x = jax.random.normal(jax.random.key(1), (B, 6, D))
    context = jax.random.normal(jax.random.key(2), (B, 7, 5)) if cross else None
    keys = 7 if cross else 6
    mask = jax.random.bernoulli(jax.random.key(3), 0.6, (B, 6, keys)).at[0, 0].set(False) if masked else None
    written, fused = (module(x, context, mask) for module in modules)
    np.testing.assert_allclose(fused, written, atol=1e-5)


@pytest.mark.parametrize("summary_tokens", [1, 2])
def test_fused_leave_one_out_equals_the_written_out_one_with_gradients(summary_tokens):
    written, fused = (Attention(D, heads=2, fused=f, rngs=nnx.Rngs(0)) for f in (False, True))
    summary = jax.random.normal(jax.random.key(1), (B * N, summary_tokens, D))
    elements = jax.random.normal(jax.random.key(2), (B, N, P, D))
    np.testing.assert_allclose(
        fused.leave_one_out(summary, elements), written.leave_one_out(summary, elements), atol=1e-5
    )
    grads = [
        jax.grad(lambda s, e, m=module: (m.leave_one_out(s, e) ** 2).sum(), argnums=(0, 1))(summary, elements)
        for module in (written, fused)
    ]
    for w, f in zip(*grads, strict=True):
        np.testing.assert_allclose(f, w, rtol=1e-4, atol=1e-4)


def test_fused_and_written_attention_agree_in_bfloat16():
    written, fused = (Attention(D, heads=2, fused=f, rngs=nnx.Rngs(0)) for f in (False, True))
    for module in (written, fused):
        for _, node in nnx.iter_graph(module):
            if isinstance(node, nnx.Linear):
                node.dtype = jnp.bfloat16
    x = jax.random.normal(jax.random.key(1), (B, 6, D))
    with jax.numpy_dtype_promotion("standard"):  # as a bfloat16 model runs (fsdiff.nn.precision)
        a, b = written(x), fused(x)
    assert a.dtype == b.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(b, np.float32), np.asarray(a, np.float32), atol=3e-2)


def test_the_backend_chooses_the_attention_at_trace_time(monkeypatch):
    """On a CPU the written-out path runs; on a GPU the fused one (``fused=None``, the default)."""
    calls = []
    original = jax.nn.dot_product_attention

    def spy(*args, **kwargs):
        calls.append(kwargs["implementation"])
        return original(*args, **{**kwargs, "implementation": None})

    monkeypatch.setattr(jax.nn, "dot_product_attention", spy)
    attention = Attention(D, heads=2, rngs=nnx.Rngs(0))
    x = jnp.zeros((B, 6, D))
    attention(x)
    assert calls == []
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    attention(x)
    assert calls == [None]  # float32: XLA's fused attention, cuDNN needs half precision


@pytest.mark.parametrize(
    ("dtype", "head_dim", "backend", "expected"),
    [
        (jnp.bfloat16, 64, "gpu", "cudnn"),
        (jnp.float16, 128, "gpu", "cudnn"),
        (jnp.float32, 64, "gpu", None),
        (jnp.bfloat16, 12, "gpu", None),
        (jnp.bfloat16, 256, "gpu", None),
        (jnp.bfloat16, 64, "cpu", None),
    ],
)
def test_cudnn_flash_attention_only_where_it_applies(dtype, head_dim, backend, expected):
    assert fused_implementation(dtype, head_dim, backend) == expected
