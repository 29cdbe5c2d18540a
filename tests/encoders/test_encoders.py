"""Set properties every encoder of this package must have, run over one suite of configurations: exact
leave-one-out contexts, permutation invariance, masked elements and other sets without any influence, finite
gradients, and shapes over sizes and channels. Each check is one jitted function (a few compiles, not thousands of
eager ones)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import example, given
from hypothesis import strategies as st

import fsdiff
from fsdiff.encoders import CNNEncoder, Encoder, SetViTEncoder, ViTEncoder
from tests.encoders.helpers import abstract_encoding

SMALL = {"width": 16, "heads": 2}
CASES = {
    "vit": lambda shape, n: ViTEncoder(**SMALL, depth=1, patch=4, image_shape=shape, rngs=nnx.Rngs(0)),
    "vit_factorized_time": lambda shape, n: ViTEncoder(
        **SMALL, depth=2, patch=4, set_layers=1, time_token=True, pool="cls", image_shape=shape, rngs=nnx.Rngs(0)
    ),
    "set_vit": lambda shape, n: SetViTEncoder(
        **SMALL, depth=1, patch=4, image_shape=shape, set_size=n, rngs=nnx.Rngs(0)
    ),
    "set_vit_per_sample_time": lambda shape, n: SetViTEncoder(
        **SMALL,
        depth=1,
        patch=4,
        tokenizer="per_sample",
        pool="mean",
        time_token=True,
        image_shape=shape,
        set_size=n,
        rngs=nnx.Rngs(0),
    ),
    "cnn": lambda shape, n: CNNEncoder(**SMALL, channels=4, depth=1, groups=2, image_shape=shape, rngs=nnx.Rngs(0)),
}
SHAPE = (8, 8, 1)
B, N = 2, 3
MASK = jnp.array([[True, False, True], [True, True, True]])


@pytest.fixture(scope="module", params=sorted(CASES))
def encoder(request) -> Encoder:
    return CASES[request.param](SHAPE, N)


def images(b: int = B, n: int = N, shape: tuple[int, int, int] = SHAPE) -> jax.Array:
    return jax.random.normal(jax.random.key(0), (b, n, *shape), jnp.float32)


def times(encoder: Encoder, *shape: int) -> jax.Array | None:
    """Distinct diffusion times of the given shape for a time-aware encoder, else None."""
    return jnp.arange(np.prod(shape), dtype=jnp.float32).reshape(shape) * 7.0 + 3.0 if encoder.time_aware else None


def jitted(encoder: Encoder, fn):
    """``fn(encoder, *args)`` jitted with the encoder's state as an argument (no weights baked into the program)."""
    graphdef, state = nnx.split(encoder)
    compiled = jax.jit(lambda state, *args: fn(nnx.merge(graphdef, state), *args))
    return lambda *args: compiled(state, *args)


def assert_close(a: fsdiff.SetEncoding, b: fsdiff.SetEncoding) -> None:
    np.testing.assert_allclose(a.tokens, b.tokens, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(a.pooled, b.pooled, atol=2e-5, rtol=1e-4)


def reference_leave_one_out(encoder: Encoder, x: jax.Array, t: jax.Array | None) -> fsdiff.SetEncoding:
    """A plain loop over the left-out element: the set without it (a fixed-size encoder: with it masked)."""
    b, n = x.shape[:2]
    contexts = []
    for i in range(n):
        t_i = None if t is None else t[:, i]
        if encoder.fixed_set_size:
            contexts.append(encoder(x, jnp.broadcast_to(jnp.arange(n) != i, (b, n)), t_i))
        else:
            contexts.append(encoder(x[:, [j for j in range(n) if j != i]], None, t_i))
    return jax.tree.map(lambda *c: jnp.stack(c, axis=1).reshape(b * n, *c[0].shape[1:]), *contexts)


def test_leave_one_out_equals_the_generic_version_and_a_loop(encoder):
    def three_ways(encoder, x, t):
        generic = Encoder.leave_one_out(encoder, x, t)
        return encoder.leave_one_out(x, t), generic, reference_leave_one_out(encoder, x, t)

    shared, generic, loop = jitted(encoder, three_ways)(images(), times(encoder, B, N))
    assert shared.pooled.shape[0] == B * N and bool(jnp.all(jnp.isfinite(shared.tokens)))
    assert_close(shared, generic)
    assert_close(shared, loop)


def test_leave_one_out_of_a_single_element_set_is_a_contract_error(encoder):
    with pytest.raises(fsdiff.ContractError, match="n >= 2, got n=1"):
        encoder.leave_one_out(images(n=1), times(encoder, B, 1))


def test_reordering_the_set_leaves_the_encoding_unchanged(encoder):
    if not encoder.permutation_invariant:
        pytest.skip("declares itself order-dependent")
    perm = np.array([2, 0, 1])
    t = times(encoder, B)
    before, after = jitted(encoder, lambda e, x: (e(x, MASK, t), e(x[:, perm], MASK[:, perm], t)))(images())
    assert_close(after, before)


def test_gradients_are_finite_and_exactly_zero_for_masked_elements_and_other_sets(encoder):
    graphdef, params, rest = nnx.split(encoder, nnx.Param, ...)
    t = times(encoder, B)

    @jax.jit
    @jax.grad
    def readout_of_set_0(params_and_x):
        """A random projection of set 0's tokens and pooled vector."""
        params, x = params_and_x
        out = nnx.merge(graphdef, params, rest)(x, MASK, t)
        return sum(jnp.sum(a[0] * jax.random.normal(jax.random.key(1), a[0].shape)) for a in jax.tree.leaves(out))

    param_grads, grad = readout_of_set_0((params, images()))
    grad, leaves = np.asarray(grad), jax.tree.leaves(param_grads)
    assert np.all(grad[0, 1] == 0.0), "a masked element influences its set's encoding"
    assert np.all(grad[1] == 0.0), "another set influences this set's encoding"
    assert np.all(np.abs(grad[0, [0, 2]]).sum(axis=(1, 2, 3)) > 0.0)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves) and sum(float(jnp.abs(g).sum()) for g in leaves) > 0


KINDS = {
    "vit": lambda shape, n, width, heads, patch: ViTEncoder(
        width=width, depth=2, heads=heads, patch=patch, set_layers=1, image_shape=shape, rngs=nnx.Rngs(0)
    ),
    "set_vit": lambda shape, n, width, heads, patch: SetViTEncoder(
        width=width, depth=1, heads=heads, patch=patch, image_shape=shape, set_size=n, rngs=nnx.Rngs(0)
    ),
    "cnn": lambda shape, n, width, heads, patch: CNNEncoder(
        width=width, channels=4, depth=2, groups=2, heads=heads, image_shape=shape, rngs=nnx.Rngs(0)
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(
    b=st.integers(1, 3),
    n=st.integers(1, 5),
    size_patch=st.sampled_from([(8, 4), (12, 4), (16, 2), (28, 4), (28, 7)]),
    channels=st.sampled_from([1, 3]),
    width=st.sampled_from([8, 16, 32]),
    heads=st.sampled_from([1, 2, 4]),
    masked=st.booleans(),
)
@example(b=1, n=1, size_patch=(28, 7), channels=3, width=8, heads=2, masked=True)
def test_encoding_shapes(kind, b, n, size_patch, channels, width, heads, masked):
    size, patch = size_patch
    shape = (size, size, channels)
    out = abstract_encoding(lambda: KINDS[kind](shape, n, width, heads, patch), (b, n, *shape), masked)
    assert out.pooled.shape == (b, width)
    assert out.tokens.shape[0] == b and out.tokens.shape[2] == width and out.tokens.shape[1] >= 1


@pytest.mark.parametrize(("cls", "blocks"), [(ViTEncoder, "set_blocks"), (SetViTEncoder, "blocks")])
def test_head_dim_sets_the_width_of_each_head_apart_from_width(cls, blocks):
    """``head_dim`` (the FSDM port's 8 heads of 56 for a width of 128) is an option, not a module swapped after the
    build; ``heads`` then need not divide ``width``."""
    options = {"width": 16, "heads": 3, "head_dim": 8, "depth": 1, "patch": 4}
    extra = {"set_size": 3} if cls is SetViTEncoder else {}
    build = lambda: cls(**options, **extra, image_shape=(8, 8, 1), rngs=nnx.Rngs(0))  # noqa: E731
    attention = getattr(nnx.eval_shape(build), blocks)[0].attention
    assert (attention.heads, attention.head_dim, attention.query.out_features) == (3, 8, 24)
    assert abstract_encoding(build, (2, 3, 8, 8, 1)).pooled.shape == (2, 16)
