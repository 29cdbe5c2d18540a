"""The ``spatial`` conditioner: per-position tokens laid over the image as a grid with its aspect ratio, each cell
from its own token, a learned null at every position, a clear error for tokens that tile no grid, and models that
accept or refuse it by the denoiser's declared forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff.conditioners import SpatialConditioner
from fsdiff.testing.perturb import perturbed
from fsdiff.typing import SetEncoding

ENCODING = SetEncoding(
    tokens=jnp.asarray(np.random.default_rng(0).normal(size=(3, 16, 8)), jnp.float32),
    pooled=jnp.asarray(np.random.default_rng(1).normal(size=(3, 8)), jnp.float32),
)


def spatial(image_shape=(16, 16, 1), **options) -> SpatialConditioner:
    return SpatialConditioner(in_dim=8, image_shape=image_shape, rngs=nnx.Rngs(0), **options)


@given(
    b=st.integers(1, 3),
    rows=st.integers(1, 4),
    aspect=st.sampled_from([1, 2]),
    d=st.integers(1, 12),
    e=st.none() | st.integers(1, 12),
    posterior=st.sampled_from(["none", "gaussian", "discrete"]),
    keyed=st.booleans(),
)
def test_grid_has_the_image_aspect_ratio_and_one_cell_per_token(b, rows, aspect, d, e, posterior, keyed):
    cols = rows * aspect
    model = nnx.eval_shape(
        lambda: SpatialConditioner(
            width=e, posterior=posterior, codebook_size=3, in_dim=d, image_shape=(8, 8 * aspect, 1), rngs=nnx.Rngs(0)
        )
    )
    encoding = SetEncoding(
        tokens=jax.ShapeDtypeStruct((b, rows * cols, d), jnp.float32), pooled=jax.ShapeDtypeStruct((b, d), jnp.float32)
    )
    key = jax.random.key(0) if keyed else None
    for cond in (
        jax.eval_shape(lambda m, enc: m(enc, key), model, encoding),
        jax.eval_shape(lambda m, enc: m.null(enc), model, encoding),
    ):
        assert cond.provides == SpatialConditioner.provides == frozenset({"spatial"})
        assert cond.spatial.shape == (b, rows, cols, e or d) and cond.kl.shape == (b,)


def test_registered_as_spatial_with_its_options():
    assert fsdiff.lookup("conditioner", "spatial") is SpatialConditioner
    options = fsdiff.describe("conditioner", "spatial").options
    assert list(options) == ["width", "posterior", "codebook_size", "temperature", "null_prob"]


def test_each_cell_is_its_own_token_in_row_major_order():
    model = spatial(width=6)
    changed = SetEncoding(tokens=ENCODING.tokens.at[:, 5].multiply(-1.0), pooled=ENCODING.pooled)
    before, after = np.asarray(model(ENCODING).spatial), np.asarray(model(changed).spatial)
    differs = np.abs(before - after).max(axis=(0, 3)) > 0  # "gh gw"
    np.testing.assert_array_equal(np.argwhere(differs), [[1, 1]])  # token 5 of a 4 x 4 grid: row 1, column 1


def test_null_prob_one_gives_the_null_vector_at_every_position():
    model = spatial(width=6, posterior="gaussian", null_prob=1.0)
    out, null = model(ENCODING, jax.random.key(0)), model.null(ENCODING)
    np.testing.assert_array_equal(out.spatial, null.spatial)
    np.testing.assert_array_equal(null.spatial, np.broadcast_to(np.asarray(null.spatial)[:1, :1, :1], (3, 4, 4, 6)))
    np.testing.assert_array_equal(out.kl, np.zeros(3))


def test_tokens_that_tile_no_grid_are_a_contract_error():
    encoding = SetEncoding(tokens=ENCODING.tokens[:, :6], pooled=ENCODING.pooled)
    with pytest.raises(fsdiff.ContractError, match=r"conditioner:spatial: the encoder's 6 tokens do not tile a grid"):
        spatial()(encoding)


MODEL = {
    "image_shape": [16, 16, 1],
    "set_size": 3,
    "encoder": {"type": "cnn", "width": 8, "channels": 8, "depth": 1, "groups": 4, "heads": 2},
    "conditioner": {"type": "spatial", "null_prob": 0.1},
    "denoiser": {
        "type": "unet",
        "width": 8,
        "channel_mult": [1, 2],
        "num_res_blocks": 1,
        "groups": 4,
        "heads": 2,
        "attention_resolutions": [2],
    },
}


def test_a_cnn_feature_map_conditions_a_unet_end_to_end():
    """Behind the UNet's zero-initialised output convs (randomised here), the loss reaches the encoder through the
    grid: the whole context path is wired."""
    model = perturbed(fsdiff.build_model(MODEL))
    x = jax.random.uniform(jax.random.key(0), (2, 3, 16, 16, 1), minval=-1.0, maxval=1.0)
    loss, grads = nnx.value_and_grad(lambda m: m.loss(x, jax.random.key(1))[0])(model)
    assert np.isfinite(float(loss))
    for part in (grads["conditioner"]["head"]["proj"]["kernel"], grads["encoder"]["stem"]["kernel"]):
        assert np.abs(np.asarray(part[...])).max() > 0


def test_a_vit_s_per_position_tokens_condition_a_dit_and_other_pools_are_refused_at_build_time():
    vit = {"type": "vit", "width": 8, "depth": 1, "heads": 2, "patch": 4}
    dit = {"type": "dit", "width": 8, "depth": 1, "heads": 2, "patch": 4}
    model = nnx.eval_shape(
        lambda: fsdiff.build_model({**MODEL, "encoder": {**vit, "pool": "patch_mean"}, "denoiser": dit})
    )
    assert model.denoiser.accepts >= model.conditioner.provides == {"spatial"}
    with pytest.raises(fsdiff.ConfigError, match=r"model.conditioner: .* do not tile a grid"):
        fsdiff.build_model({**MODEL, "encoder": {**vit, "pool": "none"}, "denoiser": dit})
