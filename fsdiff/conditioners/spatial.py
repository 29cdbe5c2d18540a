"""The ``spatial`` conditioner: the encoder's per-position tokens laid back over the image as a feature grid."""

import math

from jaxtyping import Array, Float

from fsdiff.conditioners.projected import ProjectedConditioner
from fsdiff.errors import ContractError
from fsdiff.registry import register
from fsdiff.typing import SetEncoding


@register("conditioner", "spatial")
class SpatialConditioner(ProjectedConditioner):
    """Spatially aligned context: the set's per-position tokens ``"b p d"`` (a CNN encoder's feature map, a ViT's
    ``patch_mean`` tokens: row-major over a grid covering the image), projected (Linear + LayerNorm) to ``e``
    and reshaped to a grid ``"b gh gw e"`` with the image's aspect ratio (``image_shape``; square without it),
    which the denoiser adds to its own feature maps at the same positions (a ``unet`` modulates every residual
    block with it, like SPADE, Park et al. 2019). Cross-attention (``lag``) has to *learn* where each context
    token belongs; here the alignment is given, so the class's shape reaches the denoiser from the first steps of
    training.

    Options as ``ProjectedConditioner``: ``posterior`` makes every grid cell a latent; ``null_prob`` drops a set's
    grid to a learned null vector at every position.
    """

    provides = frozenset({"spatial"})

    def features(self, encoding: SetEncoding) -> Float[Array, "b gh gw d"]:
        """``"b p d" -> "b gh gw d"`` with ``gh * gw = p`` and ``gh / gw`` the image's aspect ratio."""
        b, p, d = encoding.tokens.shape
        aspect = 1.0 if self.image_shape is None else self.image_shape[0] / self.image_shape[1]
        gh = max(1, round(math.sqrt(p * aspect)))
        gw = p // gh
        if gh * gw != p or not math.isclose(gh / gw, aspect):
            raise ContractError(
                f"conditioner:spatial: the encoder's {p} tokens do not tile a grid with the image's aspect ratio "
                f"{aspect:g} (height / width); use an encoder whose tokens are per-position features "
                "(cnn, or vit with pool: patch_mean)"
            )
        return encoding.tokens.reshape(b, gh, gw, d)
