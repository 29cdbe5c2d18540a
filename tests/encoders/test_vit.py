"""vit: what each pool returns, checked against direct computations (the per-position mean runs across the
set's images, not across neighbouring patches of one image), factorized blocks, and the construction errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import fsdiff
from fsdiff.encoders import ViTEncoder
from tests.encoders.helpers import abstract_encoding, zero_residual_branches

SHAPE = (8, 8, 1)
B, N = 2, 3
MASK = jnp.array([[True, False, True], [True, True, True]])


def build(**options) -> ViTEncoder:
    return ViTEncoder(
        **{"width": 16, "heads": 2, "depth": 1, "patch": 4, **options}, image_shape=SHAPE, rngs=nnx.Rngs(0)
    )


def images() -> jax.Array:
    return jax.random.normal(jax.random.key(0), (B, N, *SHAPE), jnp.float32)


def without_residual_branches(encoder: ViTEncoder) -> ViTEncoder:
    """Identity blocks: the output at element ``i``, patch position ``j`` is then ``norm(patch_embed(x_i))[j]``."""
    zero_residual_branches([*encoder.image_blocks, *encoder.set_blocks])
    return encoder


def patch_outputs(encoder: ViTEncoder, x: jax.Array) -> jax.Array:
    """``"b n p d"``: ``norm(patch_embed(x_i))`` for each element, computed image by image."""
    return jnp.stack([encoder.norm(encoder.patch_embed(x[:, i])) for i in range(x.shape[1])], axis=1)


def test_patch_mean_averages_each_patch_position_over_the_present_images():
    encoder = without_residual_branches(build(pool="patch_mean"))
    x = images()
    per_element = patch_outputs(encoder, x)
    out = encoder(x, MASK)
    expected = jnp.stack([per_element[0, [0, 2]].mean(axis=0), per_element[1].mean(axis=0)])
    np.testing.assert_allclose(out.tokens, expected, atol=1e-5)
    np.testing.assert_allclose(out.pooled, expected.mean(axis=1), atol=1e-5)


def test_pool_none_keeps_every_patch_token_element_major_with_masked_elements_zero():
    encoder = without_residual_branches(build(pool="none"))
    x = images()
    expected = patch_outputs(encoder, x) * MASK[:, :, None, None].astype(jnp.float32)
    out = encoder(x, MASK)
    np.testing.assert_allclose(out.tokens, expected.reshape(B, -1, 16), atol=1e-5)


def test_summary_pools_return_one_token_equal_to_the_pooled_vector():
    x = images()
    count = MASK.sum(axis=1).astype(jnp.float32)[:, None]
    mean, total, cls = (build(pool=pool)(x, MASK) for pool in ("mean", "sum", "cls"))
    for out in (mean, total, cls):
        assert out.tokens.shape == (B, 1, 16)
        np.testing.assert_array_equal(out.tokens[:, 0], out.pooled)
    np.testing.assert_allclose(total.pooled, count * mean.pooled, atol=1e-5)
    np.testing.assert_allclose(mean.pooled, build(pool="patch_mean")(x, MASK).pooled, atol=1e-5)


def test_set_layers_equal_to_depth_is_the_unfactorized_encoder():
    x = images()
    np.testing.assert_allclose(build(set_layers=1)(x, MASK).tokens, build()(x, MASK).tokens, atol=1e-6)


def test_time_token_makes_the_encoding_depend_on_t_and_a_missing_t_is_a_zero_token():
    assert not build().time_aware and not ViTEncoder.time_aware
    encoder = build(time_token=True)
    assert encoder.time_aware
    x = images()
    early, late = (encoder(x, None, jnp.full((B,), t)) for t in (10.0, 900.0))
    assert not np.allclose(early.pooled, late.pooled, atol=1e-4)
    last = encoder.summary.time.out  # a time embedder that maps every t to zeros
    last.kernel[...], last.bias[...] = jnp.zeros_like(last.kernel[...]), jnp.zeros_like(last.bias[...])
    np.testing.assert_allclose(encoder(x, None, jnp.full((B,), 10.0)).tokens, encoder(x).tokens, atol=1e-6)


@pytest.mark.parametrize(("patch", "positions"), [(4, 49), (7, 16)])
def test_28_pixel_images_work_with_patches_of_4_and_7(patch, positions):
    out = abstract_encoding(
        lambda: ViTEncoder(width=8, heads=2, patch=patch, image_shape=(28, 28, 3), rngs=nnx.Rngs(0)), (2, 3, 28, 28, 3)
    )
    assert out.tokens.shape == (2, positions, 8)


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        (
            {"patch": 5},
            "patch",
            r"patch=5 does not divide the 28x28 images; patch sizes that do: \[1, 2, 4, 7, 14, 28\]",
        ),
        ({"depth": 2, "set_layers": 3}, "set_layers", "set_layers=3 exceeds depth=2"),
        ({"width": 16, "heads": 3}, "heads", "heads=3 must divide width=16"),
    ],
)
def test_invalid_options_are_config_errors_naming_the_option(options, path, message):
    with pytest.raises(fsdiff.ConfigError, match=message) as info:
        ViTEncoder(**options, image_shape=(28, 28, 1), rngs=nnx.Rngs(0))
    assert info.value.problems[0][0] == path
