"""The ``dit`` denoiser: adaLN-Zero start, time kept in every conditioning mode, gated cross-attention, shapes,
jit, gradients, contracts and the named presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff import registry
from fsdiff.denoisers import DiT
from fsdiff.typing import Conditioning

_rng = np.random.default_rng(0)
X = jnp.asarray(_rng.normal(size=(2, 8, 8, 1)), jnp.float32)
VECTOR = jnp.asarray(_rng.normal(size=(2, 6)), jnp.float32)
TOKENS = jnp.asarray(_rng.normal(size=(2, 3, 6)), jnp.float32)
GRID = jnp.asarray(_rng.normal(size=(2, 2, 2, 6)), jnp.float32)
KL = jnp.zeros(2, jnp.float32)
T = jnp.array([10, 600], jnp.int32)
MODES = {
    "vector": Conditioning(vector=VECTOR, tokens=None, kl=KL),
    "tokens": Conditioning(vector=None, tokens=TOKENS, kl=KL),
    "both": Conditioning(vector=VECTOR, tokens=TOKENS, kl=KL),
    "spatial": Conditioning(vector=None, tokens=None, kl=KL, spatial=GRID),
    "all": Conditioning(vector=VECTOR, tokens=TOKENS, kl=KL, spatial=GRID),
}


def tiny(**options) -> DiT:
    sizes = {"width": 16, "depth": 2, "heads": 2, "patch": 2} | options
    return DiT(**sizes, image_shape=(8, 8, 1), context_dim=6, out_channels=2, rngs=nnx.Rngs(0))


def randomized(model: DiT, *, keep: str | None = None) -> DiT:
    """Every parameter redrawn at random (the zero-inits included), except those whose path contains ``keep``."""
    rng = np.random.default_rng(1)

    def draw(path, leaf):
        if keep is not None and keep in jax.tree_util.keystr(path):
            return leaf
        return jnp.asarray(0.3 * rng.normal(size=leaf.shape), leaf.dtype)

    nnx.update(model, jax.tree_util.tree_map_with_path(draw, nnx.state(model, nnx.Param)))
    return model


@nnx.jit
def forward(model, x, t, cond):
    return model(x, t, cond)


def test_a_fresh_model_outputs_zeros_and_every_block_starts_as_identity():
    model = tiny()
    np.testing.assert_array_equal(forward(model, X, T, MODES["both"]), np.zeros((2, 8, 8, 2)))
    tokens = jnp.asarray(_rng.normal(size=(2, 16, 16)), jnp.float32)
    c = jnp.asarray(_rng.normal(size=(2, 1, 16)), jnp.float32)
    np.testing.assert_array_equal(nnx.jit(lambda block: block(tokens, c, TOKENS))(model.blocks[0]), tokens)


@pytest.mark.parametrize("mode", list(MODES))
def test_the_timestep_changes_the_output_in_every_conditioning_mode(mode):
    model = randomized(tiny())
    early, late = forward(model, X, T, MODES[mode]), forward(model, X, T[::-1], MODES[mode])
    assert not np.allclose(early, late, atol=1e-4)


def test_image_patches_interact_in_token_mode():
    model = randomized(tiny())
    before = np.asarray(forward(model, X, T, MODES["tokens"]))
    after = np.asarray(forward(model, X.at[:, :2, :2].add(1.0), T, MODES["tokens"]))
    outside = np.ones((8, 8), bool)
    outside[:2, :2] = False
    assert not np.allclose(before[:, outside], after[:, outside], atol=1e-4)


def test_a_spatial_grid_modulates_each_patch_by_the_context_at_its_position():
    """With one block, patches interact only through self-attention: with its output gate closed, changing the
    grid's top-left cell of 2 x 2 changes the top-left quarter of the output, and not the last patch row or column
    (bilinear resizing to the 4 x 4 patch grid spreads a cell over three patches a side)."""
    model = randomized(tiny(depth=1), keep="gate")  # the cross-attention gate stays closed too
    modulation = model.blocks[0].modulation
    width = model.width
    closed = modulation.kernel[...].at[:, 2 * width : 3 * width].set(0.0)  # gate_msa = 0
    modulation.kernel[...] = closed
    modulation.bias[...] = modulation.bias[...].at[2 * width : 3 * width].set(0.0)
    cell = Conditioning(vector=None, tokens=None, kl=KL, spatial=GRID.at[:, 0, 0].add(1.0))
    changed = np.abs(np.asarray(forward(model, X, T, MODES["spatial"]) - forward(model, X, T, cell))).max(axis=(0, 3))
    assert changed[:4, :4].min() > 0
    np.testing.assert_array_equal(changed[6:, :], 0.0)
    np.testing.assert_array_equal(changed[:, 6:], 0.0)


def test_zero_initialised_cross_attention_gates_ignore_the_tokens_exactly():
    model = randomized(tiny(), keep="gate")
    zeroed = Conditioning(vector=None, tokens=jnp.zeros_like(TOKENS), kl=KL)
    np.testing.assert_array_equal(forward(model, X, T, MODES["tokens"]), forward(model, X, T, zeroed))
    opened = randomized(model)
    assert not np.allclose(forward(opened, X, T, MODES["tokens"]), forward(opened, X, T, zeroed), atol=1e-4)


@pytest.mark.parametrize("gate", [0.0, 1.0])
def test_the_cross_attention_weights_learn_from_the_first_step_only_with_an_open_gate(gate):
    model = randomized(tiny(cross_gate=gate), keep="gate")
    assert np.all(np.asarray(model.blocks[0].cross.gate[...]) == gate)

    def loss(m):
        return jnp.square(m(X, T, MODES["tokens"])).mean()

    grads = nnx.jit(nnx.grad(loss))(model)
    attention = np.abs(np.asarray(grads.blocks[0].cross.attn.key_value.kernel[...])).sum()
    assert (attention > 0) == (gate != 0)


def test_cross_every_selects_the_blocks_with_cross_attention():
    model = nnx.eval_shape(lambda: tiny(depth=5, cross_every=2))
    assert [block.cross is not None for block in model.blocks] == [True, False, True, False, True]


@given(
    patch=st.sampled_from([1, 2, 4]),
    grid=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    channels=st.integers(1, 3),
    out_channels=st.integers(1, 6),
    mode=st.sampled_from(list(MODES)),
)
def test_output_has_the_image_size_and_out_channels(patch, grid, channels, out_channels, mode):
    h, w = grid[0] * patch, grid[1] * patch
    model = nnx.eval_shape(
        lambda: DiT(
            width=8,
            depth=1,
            heads=2,
            patch=patch,
            image_shape=(h, w, channels),
            context_dim=6,
            out_channels=out_channels,
            rngs=nnx.Rngs(0),
        )
    )
    x = jax.ShapeDtypeStruct((2, h, w, channels), jnp.float32)
    out = jax.eval_shape(lambda m, x: m(x, T, MODES[mode]), model, x)
    assert out.shape == (2, h, w, out_channels) and out.dtype == jnp.float32


def test_jit_works_and_gradients_are_finite():
    model = randomized(tiny())

    def loss(m):
        return jnp.square(m(X, T, MODES["both"])).mean()

    value, grads = nnx.jit(nnx.value_and_grad(loss))(model)
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(grads))
    assert np.abs(np.asarray(grads.blocks[0].cross.gate[...])).sum() > 0


def test_wrong_shapes_are_contract_errors():
    model = tiny()
    with pytest.raises(fsdiff.ContractError, match=r"denoiser:dit: argument 'x' expected Float\[Array, 'b h w c'\]"):
        model(X[0], T, MODES["both"])
    with pytest.raises(fsdiff.ContractError, match=r"denoiser:dit: argument 't'"):
        model(X, T[:1], MODES["both"])
    with pytest.raises(fsdiff.ContractError, match=r"built for images \(8, 8, 1\) \(h, w, c\), got x of shape"):
        model(jnp.zeros((2, 4, 4, 1), jnp.float32), T, MODES["both"])
    narrow = Conditioning(vector=None, tokens=TOKENS[..., :4], kl=KL)
    with pytest.raises(fsdiff.ContractError, match=r"conditioning tokens has width 4.*context_dim=6"):
        model(X, T, narrow)


def test_construction_names_the_option_that_does_not_fit():
    with pytest.raises(fsdiff.ConfigError, match=r"option 'patch' \(3\) must divide the image height and width 8x8"):
        tiny(patch=3)
    with pytest.raises(fsdiff.ConfigError, match=r"option 'width' \(16\) must be divisible by option 'heads' \(3\)"):
        tiny(heads=3)


def test_dropout_is_active_in_train_mode_only():
    model = randomized(tiny(dropout=0.5))
    first, second = forward(model, X, T, MODES["both"]), forward(model, X, T, MODES["both"])
    assert not np.allclose(first, second)
    model.eval()
    np.testing.assert_array_equal(forward(model, X, T, MODES["both"]), forward(model, X, T, MODES["both"]))


@pytest.mark.parametrize(("name", "sizes"), [("dit_s", (384, 12, 6)), ("dit_b", (768, 12, 12))])
def test_named_sizes_are_presets_of_dit_with_the_paper_sizes(name, sizes):
    assert fsdiff.lookup("denoiser", name) is DiT
    assert not {"width", "depth", "heads"} & set(fsdiff.describe("denoiser", name).options)
    derived = {"image_shape": (8, 8, 1), "context_dim": 6, "out_channels": 1}
    model = nnx.eval_shape(
        lambda: registry.build("denoiser", {"type": name}, {**derived, "rngs": nnx.Rngs(0)}, "model.denoiser")
    )
    assert type(model) is DiT
    assert (model.width, len(model.blocks), model.blocks[0].attn.heads) == sizes
