"""The variational context shared by the conditioners: KL values, deterministic evaluation, context dropout, keys."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from fsdiff.conditioners.posterior import ContextHead, bits_per_dimension


def head(posterior="none", *, null_prob=0.0, temperature=1.0, in_dim=8, dim=6):
    return ContextHead(
        in_dim,
        dim,
        posterior=posterior,
        codebook_size=5,
        temperature=temperature,
        null_prob=null_prob,
        rngs=nnx.Rngs(0),
    )


B, P = 16, 4
FEATURES = jnp.asarray(np.random.default_rng(0).normal(size=(B, P, 8)), jnp.float32)  # one shape: XLA compiles once


def projected(module, features=FEATURES):
    return module.norm(module.proj(features))


def test_gaussian_kl_matches_the_closed_form_in_bits_per_dimension():
    module = head("gaussian")
    _, kl = module(FEATURES, jax.random.key(0))
    h = projected(module)
    mu = np.asarray(module.posterior.mean(h), np.float64)
    log_var = np.asarray(module.posterior.log_variance(h), np.float64)
    nats = 0.5 * (mu**2 + np.exp(log_var) - 1.0 - log_var)
    expected = nats.sum(axis=(1, 2)) / (P * 6 * math.log(2.0))
    np.testing.assert_allclose(np.asarray(kl), expected, rtol=1e-5)


def test_gaussian_without_a_key_is_the_posterior_mean():
    module = head("gaussian")
    z, _ = module(FEATURES)
    np.testing.assert_array_equal(z, module.posterior.mean(projected(module)))


def test_discrete_kl_matches_a_direct_computation():
    module = head("discrete")
    _, kl = module(FEATURES, jax.random.key(0))
    logits = np.asarray(module.posterior.logits(projected(module)), np.float64)
    q = np.exp(logits - logits.max(-1, keepdims=True))
    q /= q.sum(-1, keepdims=True)
    per_code = (q * np.log(q * 5)).sum(-1) / math.log(2.0)
    np.testing.assert_allclose(np.asarray(kl), per_code.mean(axis=1), rtol=1e-5, atol=1e-7)


def test_discrete_without_a_key_uses_the_hard_argmax_codes():
    module = head("discrete")
    z, _ = module(FEATURES)
    codes = jnp.argmax(module.posterior.logits(projected(module)), axis=-1)
    np.testing.assert_array_equal(z, module.posterior.codebook[...][codes])


def test_discrete_samples_at_low_temperature_are_nearly_codes():
    module = head("discrete", temperature=1e-3)
    z, _ = module(FEATURES, jax.random.key(1))
    codebook = np.asarray(module.posterior.codebook[...])
    distance = np.abs(np.asarray(z)[:, :, None, :] - codebook[None, None]).max(-1).min(-1)
    assert distance.max() < 1e-3


def test_no_posterior_has_zero_kl_and_ignores_the_key():
    module = head("none")
    z, kl = module(FEATURES, jax.random.key(3))
    np.testing.assert_array_equal(kl, np.zeros(B))
    np.testing.assert_array_equal(z, module(FEATURES)[0])


@pytest.mark.parametrize("posterior", ["none", "gaussian", "discrete"])
def test_null_prob_one_replaces_every_set_by_the_null_with_zero_kl(posterior):
    module = head(posterior, null_prob=1.0)
    z, kl = module(FEATURES, jax.random.key(0))
    np.testing.assert_array_equal(z, module.null(FEATURES))
    np.testing.assert_array_equal(kl, np.zeros(B))


@pytest.mark.parametrize("posterior", ["none", "gaussian"])
def test_null_prob_zero_never_drops(posterior):
    module = head(posterior, null_prob=0.0)
    null = np.asarray(module.null(FEATURES))
    for seed in range(3):
        z, _ = module(FEATURES, jax.random.key(seed))
        assert not np.any(np.all(np.asarray(z) == null, axis=(1, 2)))


def test_context_dropout_is_per_set_never_per_token():
    module = head("gaussian", null_prob=0.5)
    z, kl = (np.asarray(a) for a in module(FEATURES, jax.random.key(5)))
    same = np.all(z == np.asarray(module.null(FEATURES)), axis=-1)  # "b p"
    dropped = same.all(axis=1)
    assert np.array_equal(same.any(axis=1), dropped), "a set was dropped only partly"
    assert 0 < dropped.sum() < B
    assert np.all(kl[dropped] == 0) and np.all(kl[~dropped] > 0)


def test_null_is_one_learned_vector_broadcast_to_every_set_and_position():
    module = head("none")
    null = np.asarray(module.null(FEATURES))
    assert null.shape == (B, P, 6)
    np.testing.assert_array_equal(null, np.broadcast_to(np.asarray(module.null_embedding[...]), (B, P, 6)))


@pytest.mark.parametrize("posterior", ["gaussian", "discrete"])
def test_keys_make_the_sample_reproducible_and_distinct(posterior):
    module = head(posterior, null_prob=0.3)
    first, _ = module(FEATURES, jax.random.key(0))
    again, _ = module(FEATURES, jax.random.key(0))
    other, _ = module(FEATURES, jax.random.key(1))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(module(FEATURES)[0], module(FEATURES)[0])


def test_bits_per_dimension_averages_over_every_non_batch_axis():
    kl = jnp.full((2, 3, 4), math.log(2.0), jnp.float32)
    np.testing.assert_allclose(bits_per_dimension(kl), np.ones(2), rtol=1e-6)


def test_gradients_reach_the_posterior_through_the_sample():
    module = head("gaussian")

    def loss(m):
        z, kl = m(FEATURES, jax.random.key(0))
        return jnp.square(z).mean() + kl.mean()

    grads = nnx.jit(nnx.grad(loss))(module)
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(grads))
    assert np.abs(np.asarray(grads.posterior.log_variance.kernel[...])).sum() > 0
