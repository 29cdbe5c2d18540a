"""set_vit: the stacked tokenizer is the Linear of the set's SPT patches stacked along channels (a masked element
contributes nothing, the rest rescaled to a full set), SPT shifts are the four diagonal half-patch shifts, the
fixed set size is enforced with a clear error, and the per-sample tokenizer takes any set size in any order."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import fsdiff
from fsdiff.encoders import SetViTEncoder
from fsdiff.encoders.set_vit import shifted_patches
from fsdiff.nn.patches import sincos_positions, unpatchify
from tests.encoders.helpers import zero_residual_branches

SHAPE = (8, 8, 1)
B, N = 2, 3
MASK = jnp.array([[True, False, True], [True, True, True]])


def build(**options) -> SetViTEncoder:
    return SetViTEncoder(
        **{"width": 16, "heads": 2, "depth": 1, "patch": 4, **options}, image_shape=SHAPE, set_size=N, rngs=nnx.Rngs(0)
    )


def images(n: int = N) -> jax.Array:
    return jax.random.normal(jax.random.key(0), (B, n, *SHAPE), jnp.float32)


def test_stacked_tokens_are_the_linear_of_the_channel_stacked_patches_rescaled_to_the_present_elements():
    encoder = build()
    zero_residual_branches(encoder.blocks)  # identity blocks: the output tokens are norm(embedding + positions)
    x = images()
    stacked = jnp.concatenate([encoder.patch_norm(shifted_patches(x[:, i], 4)) for i in range(N)], axis=-1)
    kernel = encoder.kernel[...].reshape(-1, 16)  # element-major rows: the stacked Linear's kernel
    absent = jnp.repeat(~MASK, stacked.shape[-1] // N, axis=1)[:, None, :]
    present = stacked * (~absent).astype(jnp.float32)
    rescale = (N / MASK.sum(axis=1).astype(jnp.float32))[:, None, None]
    embedded = rescale * (present @ kernel) + (encoder.bias[...][None] + sincos_positions(2, 2, 16))[None]
    np.testing.assert_allclose(encoder(x, MASK).tokens, encoder.norm(embedded), atol=1e-5)


def test_shifted_patches_concatenate_the_image_and_its_four_diagonal_half_patch_shifts():
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    channels = np.asarray(unpatchify(shifted_patches(jnp.asarray(image), 2), 2, 4, 4))
    padded = np.pad(image[0, :, :, 0], 1)
    expected = [image[0, :, :, 0]] + [
        padded[1 - dy : 5 - dy, 1 - dx : 5 - dx] for dy, dx in ((1, 1), (1, -1), (-1, 1), (-1, -1))
    ]
    np.testing.assert_array_equal(channels[0].transpose(2, 0, 1), np.stack(expected))


def test_a_set_of_the_wrong_size_is_a_contract_error_naming_both_sizes():
    encoder = build()
    for call in (lambda: encoder(images(n=2)), lambda: encoder.leave_one_out(images(n=4))):
        with pytest.raises(fsdiff.ContractError, match=r"set_size=3 elements, got n=(2|4); pad the set and mask"):
            call()


def test_the_stacked_tokenizer_depends_on_the_order_and_says_so():
    encoder = build()
    assert encoder.fixed_set_size and not encoder.permutation_invariant
    x = images()
    assert not np.allclose(encoder(x).pooled, encoder(x[:, ::-1]).pooled, atol=1e-4)


def test_the_per_sample_tokenizer_takes_any_set_size_in_any_order():
    encoder = build(tokenizer="per_sample")
    assert not encoder.fixed_set_size and encoder.permutation_invariant
    x = images(n=5)
    np.testing.assert_allclose(encoder(x).pooled, encoder(x[:, ::-1]).pooled, atol=1e-5)


def test_every_block_is_locality_self_attention():
    assert all(block.attention.log_temperature is not None for block in build().blocks)
