"""The ``protonet`` extractor: registered, its feature width is ``width`` for any image size and depth, and its
options are checked like every component's."""

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff.errors import ConfigError
from fsdiff.evaluation import FeatureExtractor, ProtoNet, build_extractor


def test_is_a_registered_trainable_feature_extractor():
    assert "protonet" in fsdiff.list_components("feature_extractor")
    assert issubclass(ProtoNet, FeatureExtractor) and ProtoNet.trainable
    assert set(fsdiff.describe("feature_extractor", "protonet").options) == {"width", "depth", "groups"}


@given(
    b=st.integers(1, 3),
    size=st.integers(5, 33),
    channels=st.sampled_from([1, 3]),
    depth=st.integers(1, 5),
    width=st.sampled_from([4, 8]),
)
def test_features_are_width_wide_for_any_image_size(b, size, channels, depth, width):
    net = nnx.eval_shape(
        lambda: ProtoNet(width=width, depth=depth, groups=4, image_shape=(size, size, channels), rngs=nnx.Rngs(0))
    )
    out = jax.eval_shape(lambda m, x: m(x), net, jax.ShapeDtypeStruct((b, size, size, channels), jnp.float32))
    assert out.shape == (b, width) and out.dtype == jnp.float32


def test_features_of_an_image_do_not_depend_on_its_batch():
    net = ProtoNet(width=4, depth=1, groups=2, image_shape=(8, 8, 1), rngs=nnx.Rngs(0))
    images = jax.random.uniform(jax.random.key(0), (3, 8, 8, 1), minval=-1.0, maxval=1.0)
    assert jnp.allclose(net(images)[:1], net(images[:1]), atol=1e-6)


def test_groups_must_divide_the_width():
    with pytest.raises(ConfigError, match=r"features\.groups: feature_extractor:protonet: ProtoNet: groups=3"):
        build_extractor({"type": "protonet", "width": 8, "groups": 3}, image_shape=(8, 8, 1))
