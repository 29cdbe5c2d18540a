"""cnn: the encoding is ``finish`` of the masked mean of per-element features (what makes it decomposable), its
token grid follows the stride-2 stages, and its construction errors name the option."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import fsdiff
from fsdiff.encoders import CNNEncoder
from tests.encoders.helpers import abstract_encoding

SHAPE = (8, 8, 1)
MASK = jnp.array([[True, False, True], [True, True, True]])


def build(**options) -> CNNEncoder:
    options = {"width": 16, "heads": 2, "channels": 4, "depth": 1, "groups": 2, **options}
    return CNNEncoder(**options, image_shape=SHAPE, rngs=nnx.Rngs(0))


@pytest.mark.parametrize("pool", ["attention", "mean"])
def test_encoding_is_finish_of_the_masked_mean_of_element_features(pool):
    encoder = build(pool=pool)
    x = jax.random.normal(jax.random.key(0), (2, 3, *SHAPE), jnp.float32)
    features = encoder.element_features(x)
    weights = MASK.astype(jnp.float32) / MASK.sum(axis=1, keepdims=True).astype(jnp.float32)
    mean = fsdiff.SetEncoding(
        tokens=jnp.einsum("bn,bnpd->bpd", weights, features.tokens),
        pooled=jnp.einsum("bn,bnd->bd", weights, features.pooled),
    )
    out, expected = encoder(x, MASK), encoder.finish(mean)
    np.testing.assert_allclose(out.tokens, expected.tokens, atol=1e-5)
    np.testing.assert_allclose(out.pooled, expected.pooled, atol=1e-5)
    if pool == "mean":
        np.testing.assert_allclose(features.pooled, features.tokens.mean(axis=2), atol=1e-6)


@pytest.mark.parametrize(("size", "depth", "positions"), [(28, 2, 49), (28, 3, 16), (8, 1, 16)])
def test_tokens_are_the_final_feature_map(size, depth, positions):
    out = abstract_encoding(
        lambda: CNNEncoder(
            width=8, channels=4, depth=depth, groups=2, heads=2, image_shape=(size, size, 3), rngs=nnx.Rngs(0)
        ),
        (2, 3, size, size, 3),
    )
    assert out.tokens.shape == (2, positions, 8)


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"groups": 3}, "groups", "groups=3 must divide channels=4"),
        ({"heads": 3}, "heads", "heads=3 must divide width=16"),
    ],
)
def test_invalid_options_are_config_errors_naming_the_option(options, path, message):
    with pytest.raises(fsdiff.ConfigError, match=message) as info:
        build(**options)
    assert info.value.problems[0][0] == path
