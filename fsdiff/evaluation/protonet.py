"""The ``protonet`` feature extractor: the convolutional embedding of prototypical networks (four blocks by default)."""

import jax
from flax import nnx
from jaxtyping import Array, Float

from fsdiff.errors import ConfigError
from fsdiff.evaluation.features import FeatureExtractor, Features
from fsdiff.registry import register
from fsdiff.typing import Images, PositiveInt


@register("feature_extractor", "protonet")
class ProtoNet(FeatureExtractor):
    """The embedding network of prototypical networks (Snell et al. 2017): ``depth`` blocks of 3x3 convolution to
    ``width`` channels, normalization, ReLU and 2x2 max-pooling, fitted by fsdiff on the run's training classes
    with the prototypical loss (``trainable``), so the evaluation needs no downloaded weights.

    Unlike Snell et al., the normalization is GroupNorm (``groups`` groups) rather than BatchNorm, so an image's
    features never depend on the batch it is embedded with, and the final map is averaged over space rather than
    flattened, so the feature width is ``width`` whatever the image size (small enough to estimate covariances from
    a few hundred images). Pooling pads odd sizes ("SAME"), so any image size works with any ``depth``.
    """

    trainable = True

    def __init__(
        self,
        *,
        width: PositiveInt = 64,
        depth: PositiveInt = 4,
        groups: PositiveInt = 8,
        image_shape: tuple[int, int, int],
        rngs: nnx.Rngs,
    ):
        if width % groups:
            raise ConfigError([("groups", f"ProtoNet: groups={groups} must divide width={width}")])
        channels = [image_shape[-1]] + [width] * depth
        self.blocks = nnx.List(
            [
                ConvBlock(c_in, c_out, groups=groups, rngs=rngs)
                for c_in, c_out in zip(channels[:-1], channels[1:], strict=True)
            ]
        )

    def __call__(self, images: Images) -> Features:
        h = images
        for block in self.blocks:
            h = block(h)  # "b h/2 w/2 width" per block
        return h.mean(axis=(1, 2))


class ConvBlock(nnx.Module):
    """Conv 3x3, GroupNorm, ReLU, max-pool 2x2: halves the spatial size (rounding up)."""

    def __init__(self, in_channels: int, out_channels: int, *, groups: int, rngs: nnx.Rngs):
        self.conv = nnx.Conv(in_channels, out_channels, (3, 3), rngs=rngs)
        self.norm = nnx.GroupNorm(out_channels, num_groups=groups, rngs=rngs)

    def __call__(self, x: Images) -> Float[Array, "b h_out w_out c_out"]:
        h = jax.nn.relu(self.norm(self.conv(x)))
        return nnx.max_pool(h, (2, 2), strides=(2, 2), padding="SAME")
