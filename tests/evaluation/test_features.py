"""The ``feature_extractor`` kind: a user's extractor registers and is selected by name, its contract is checked,
unknown names and options are config errors, and ``embed`` equals a direct call whatever the batching."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import fsdiff
from fsdiff.errors import ConfigError, ContractError
from fsdiff.evaluation import FeatureExtractor, Features, build_extractor, embed
from fsdiff.typing import Images, PositiveInt


class PixelMeans(FeatureExtractor):
    """A fixed extractor: the mean of each of ``bands`` horizontal bands of the image (no parameters)."""

    def __init__(self, *, bands: PositiveInt = 2, image_shape: tuple[int, int, int], rngs: nnx.Rngs):
        self.bands = bands

    def __call__(self, images: Images) -> Features:
        b, h = images.shape[:2]
        return images.reshape(b, self.bands, h // self.bands, -1).mean(axis=(2, 3))


class WrongBatch(FeatureExtractor):
    def __init__(self, *, rngs: nnx.Rngs):
        pass

    def __call__(self, images: Images) -> Features:
        return jnp.zeros((images.shape[0] + 1, 2))


def test_a_registered_extractor_is_built_by_name_with_its_options():
    with fsdiff.isolated_registry():
        fsdiff.register("feature_extractor", "pixel_means")(PixelMeans)
        extractor, config = build_extractor({"type": "pixel_means", "bands": 4}, image_shape=(8, 8, 1))
        assert config == {"type": "pixel_means", "bands": 4}
        assert not extractor.trainable
        assert extractor(jnp.ones((2, 8, 8, 1))).shape == (2, 4)
        assert build_extractor("pixel_means", image_shape=(8, 8, 1))[1] == {"type": "pixel_means", "bands": 2}


def test_unknown_names_and_options_are_config_errors():
    with pytest.raises(ConfigError, match=r"features\.type: unknown feature_extractor 'protonett'; did you mean"):
        build_extractor("protonett", image_shape=(8, 8, 1))
    with pytest.raises(ConfigError, match=r"features\.widht: unknown option; did you mean 'width'"):
        build_extractor({"type": "protonet", "widht": 8}, image_shape=(8, 8, 1))


def test_a_contract_violation_names_the_extractor():
    with fsdiff.isolated_registry():
        fsdiff.register("feature_extractor", "wrong")(WrongBatch)
        extractor, _ = build_extractor("wrong", image_shape=(8, 8, 1))
        with pytest.raises(ContractError, match="feature_extractor:wrong: return value"):
            extractor(jnp.zeros((2, 8, 8, 1)))


def test_an_extractor_without_annotations_is_refused():
    class Bare(FeatureExtractor):
        def __call__(self, images):
            return images

    with fsdiff.isolated_registry(), pytest.raises(ContractError, match="no array annotations"):
        fsdiff.register("feature_extractor", "bare")(Bare)


def test_embed_equals_a_direct_call_across_padded_batches():
    extractor = PixelMeans(bands=2, image_shape=(4, 4, 1), rngs=nnx.Rngs(0))
    images = np.random.default_rng(0).uniform(-1, 1, (7, 4, 4, 1)).astype(np.float32)
    features = embed(extractor, images, batch_size=3)
    assert features.dtype == np.float64 and features.shape == (7, 2)
    np.testing.assert_allclose(features, np.asarray(extractor(jnp.asarray(images))), rtol=1e-6)
