"""The UNet denoiser: the timestep and every declared conditioning reach the output, a fresh model ignores tokens,
shapes for any compatible configuration, jit, finite values and gradients, no leakage across the batch, and
construction errors that name the option."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff.denoisers.unet import UNet
from fsdiff.typing import Conditioning

CONTEXT_DIM = 6
TOKENS = 3
TINY = {"width": 8, "channel_mult": (1, 2), "num_res_blocks": 1, "attention_resolutions": (2,), "heads": 2, "groups": 4}
GRID = (2, 2)
MODES = {
    "vector": (True, False, False),
    "tokens": (False, True, False),
    "spatial": (False, False, True),
    "both": (True, True, False),
    "all": (True, True, True),
}


def tiny_unet(**overrides) -> UNet:
    options = {**TINY, "image_shape": (8, 8, 1), "context_dim": CONTEXT_DIM, "out_channels": 1, **overrides}
    return UNet(**options, rngs=nnx.Rngs(0))


def randomize_zeros(model: UNet, seed: int, keep: str | None = None) -> UNet:
    """Replace every all-zero parameter (zero-initialised convs and projections, biases) by small Gaussian noise,
    except those whose path contains ``keep``; the fresh model outputs exactly zero, this one does not. (NumPy
    noise: no XLA compilation per parameter shape.)"""
    rng = np.random.default_rng(seed)
    state = nnx.state(model, nnx.Param)
    paths, treedef = jax.tree_util.tree_flatten_with_path(state)
    leaves = []
    for path, leaf in paths:
        value = np.asarray(leaf)
        if not value.any() and (keep is None or keep not in jax.tree_util.keystr(path)):
            value = 0.3 * rng.standard_normal(value.shape, dtype=np.float32)
        leaves.append(jnp.asarray(value))
    nnx.update(model, jax.tree_util.tree_unflatten(treedef, leaves))
    return model


def conditioning(seed: int, b: int, mode: str) -> Conditioning:
    """Random conditioning of the given mode (NumPy draws: no XLA compilation per shape)."""
    has_vector, has_tokens, has_spatial = MODES[mode]
    rng = np.random.default_rng(seed)
    return Conditioning(
        vector=jnp.asarray(rng.standard_normal((b, CONTEXT_DIM), dtype=np.float32)) if has_vector else None,
        tokens=jnp.asarray(rng.standard_normal((b, TOKENS, CONTEXT_DIM), dtype=np.float32)) if has_tokens else None,
        kl=jnp.zeros((b,)),
        spatial=jnp.asarray(rng.standard_normal((b, *GRID, CONTEXT_DIM), dtype=np.float32)) if has_spatial else None,
    )


def repeat_first(a: jax.Array) -> jax.Array:
    """Two copies of the first example, ``"1 ..." -> "2 ..."``."""
    return jnp.asarray(np.repeat(np.asarray(a)[:1], 2, axis=0))


def reverse(a: jax.Array) -> jax.Array:
    """The batch in reverse order."""
    return jnp.asarray(np.asarray(a)[::-1])


def all_finite(tree) -> bool:
    return all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(tree))


@nnx.jit
def forward(model: UNet, x: jax.Array, t: jax.Array, cond: Conditioning) -> jax.Array:
    return model(x, t, cond)


@pytest.fixture(scope="module")
def random_unet() -> UNet:
    return randomize_zeros(tiny_unet(), seed=1)


X = jnp.asarray(np.random.default_rng(2).standard_normal((2, 8, 8, 1), dtype=np.float32))


def test_registered_with_its_accepted_conditioning():
    assert fsdiff.lookup("denoiser", "unet") is UNet
    assert UNet.accepts == {"vector", "tokens", "spatial"}


@pytest.mark.parametrize("mode", MODES)
def test_timestep_changes_the_output_in_every_conditioning_mode(random_unet, mode):
    x = repeat_first(X)
    cond = jax.tree.map(repeat_first, conditioning(3, 1, mode))
    out = forward(random_unet, x, jnp.array([10, 700]), cond)
    assert not np.allclose(out[0], out[1], atol=1e-4)


def test_fresh_unet_ignores_tokens_exactly():
    """The transformers' zero-initialised output projections are the only way tokens enter: with every other
    zero-initialised weight randomised, tokens and zeroed tokens give bit-identical, non-zero outputs."""
    model = randomize_zeros(tiny_unet(), seed=4, keep="proj_out")
    cond = conditioning(5, 2, "both")
    zeroed = Conditioning(vector=cond.vector, tokens=jnp.zeros_like(cond.tokens), kl=cond.kl)
    t = jnp.array([3, 400])
    out = forward(model, X, t, cond)
    assert np.abs(out).max() > 1e-3
    np.testing.assert_array_equal(out, forward(model, X, t, zeroed))


@pytest.mark.parametrize("field", ["vector", "tokens", "spatial"])
def test_declared_conditioning_changes_the_output(random_unet, field):
    cond = conditioning(6, 2, "all")
    changed = dataclasses.replace(cond, **{field: getattr(conditioning(7, 2, "all"), field)})
    t = jnp.array([5, 5])
    out, out_changed = forward(random_unet, X, t, cond), forward(random_unet, X, t, changed)
    assert not np.allclose(out, out_changed, atol=1e-4)


def test_jit_outputs_and_gradients_are_finite_and_examples_do_not_leak(random_unet):
    """Under jit: finite outputs and parameter gradients, and since GroupNorm and attention act per example, the
    gradient of the first example's output with respect to the other example's input is exactly zero (checked
    both ways by swapping the two examples)."""
    graphdef, params, rest = nnx.split(random_unet, nnx.Param, ...)

    @jax.jit
    def first_output_and_grads(params, x, t, cond):
        def first(params, x):
            out = nnx.merge(graphdef, params, rest)(x, t, cond)
            return jnp.sum(out[0]), out

        return jax.grad(first, argnums=(0, 1), has_aux=True)(params, x)

    inputs = (X, jnp.array([0, 999]), conditioning(8, 2, "all"))
    for x, t, cond in [inputs, jax.tree.map(reverse, inputs)]:
        (param_grads, x_grad), out = first_output_and_grads(params, x, t, cond)
        assert out.shape == (2, 8, 8, 1)
        assert all_finite(out)
        assert all_finite(param_grads)
        assert np.abs(x_grad[0]).max() > 0
        np.testing.assert_array_equal(x_grad[1], 0.0)


@st.composite
def configurations(draw):
    size = draw(st.sampled_from([8, 16, 28]))
    levels = draw(st.integers(1, 3))
    factors = [2**level for level in range(levels)]
    channels = draw(st.sampled_from([1, 3]))
    options = {
        **TINY,
        "channel_mult": tuple(draw(st.lists(st.integers(1, 2), min_size=levels, max_size=levels))),
        "attention_resolutions": tuple(draw(st.lists(st.sampled_from(factors), unique=True, max_size=levels))),
        "image_shape": (size, size, channels),
        "out_channels": channels * draw(st.sampled_from([1, 2])),
    }
    return options, draw(st.sampled_from(list(MODES))), draw(st.integers(1, 2))


@given(configurations())
def test_output_shape(configuration):
    options, mode, b = configuration
    model = nnx.eval_shape(lambda: UNet(**options, context_dim=CONTEXT_DIM, rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    h, w, c = options["image_shape"]
    x = jax.ShapeDtypeStruct((b, h, w, c), jnp.float32)
    t = jax.ShapeDtypeStruct((b,), jnp.int32)
    cond = jax.eval_shape(lambda: conditioning(0, b, mode))
    out = jax.eval_shape(lambda s, x, t, cond: nnx.merge(graphdef, s)(x, t, cond), state, x, t, cond)
    assert out.shape == (b, h, w, options["out_channels"])
    assert out.dtype == jnp.float32


@pytest.mark.parametrize(
    ("overrides", "option", "words"),
    [
        ({"channel_mult": (1, 2, 2), "image_shape": (10, 10, 1)}, "channel_mult", "divisible by 4"),
        ({"width": 10}, "width", "divisible by groups=4"),
        ({"attention_resolutions": (4,)}, "attention_resolutions", "among [1, 2]"),
        ({"channel_mult": ()}, "channel_mult", "non-empty"),
        ({"channel_mult": (1, 0)}, "channel_mult", "ints > 0"),
        ({"heads": 3}, "heads", "must divide width=8"),
    ],
)
def test_invalid_options_name_the_option(overrides, option, words):
    with pytest.raises(fsdiff.ConfigError) as info:
        tiny_unet(**overrides)
    assert [path for path, _ in info.value.problems] == [option]
    assert words in str(info.value)
