"""The ``pixel_mean`` encoder: patches of the set's mean image, embedded linearly."""

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Bool, Float

import fsdiff
from fsdiff.nn import patchify
from fsdiff.typing import ElementMask, PositiveInt, SetEncoding, SetImages, Timesteps


@fsdiff.register("encoder", "pixel_mean")
class PixelMeanEncoder(fsdiff.Encoder):
    """The simplest useful set encoder, as a plugin example: each image is cut into ``patch x patch`` patches,
    embedded by one Linear to ``width``, averaged over the present elements of the set and layer-normed. Tokens are
    the ``p`` per-position means, the pooled vector their mean.

    The encoding is a mean of per-element features followed by ``finish``, so the encoder is ``decomposable``: a
    leave-one-out context costs one pass and a subtraction (``fsdiff.Encoder.leave_one_out``).
    """

    decomposable = True

    def __init__(
        self, *, width: PositiveInt = 32, patch: PositiveInt = 4, image_shape: tuple[int, int, int], rngs: nnx.Rngs
    ):
        h, w, c = image_shape
        if h % patch or w % patch:
            raise fsdiff.ConfigError([("patch", f"pixel_mean: patch={patch} does not divide the {h}x{w} images")])
        self.patch = patch
        self.embed = nnx.Linear(patch * patch * c, width, rngs=rngs)
        self.norm = nnx.LayerNorm(width, rngs=rngs)

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        features = self.element_features(x)
        return self.finish(
            SetEncoding(tokens=_masked_mean(features.tokens, mask), pooled=_masked_mean(features.pooled, mask))
        )

    def element_features(self, x: SetImages) -> SetEncoding:
        """Per-element features: tokens ``"b n p d"``, pooled ``"b n d"``."""
        x = jnp.asarray(x)
        b, n = x.shape[:2]
        tokens = self.embed(patchify(x.reshape(b * n, *x.shape[2:]), self.patch))
        tokens = tokens.reshape(b, n, *tokens.shape[1:])
        return SetEncoding(tokens=tokens, pooled=tokens.mean(axis=2))

    def finish(self, features: SetEncoding) -> SetEncoding:
        """The encoding from the mean of the element features: a LayerNorm each."""
        return SetEncoding(tokens=self.norm(features.tokens), pooled=self.norm(features.pooled))


def _masked_mean(x: Float[Array, "b n *rest"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b *rest"]:
    """Mean over the present elements; masked ones enter through ``jnp.where``, so not even their gradient
    reaches the result."""
    if mask is None:
        return x.mean(axis=1)
    present = mask.reshape(*mask.shape, *(1,) * (x.ndim - 2))
    count = jnp.maximum(mask.sum(axis=1), 1).astype(x.dtype).reshape(-1, *(1,) * (x.ndim - 2))
    return jnp.where(present, x, 0.0).sum(axis=1) / count
