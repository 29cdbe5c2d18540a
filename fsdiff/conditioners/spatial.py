"""The ``spatial`` conditioner: the encoder's per-position tokens laid back over the image as a feature grid."""

import math

import jax.numpy as jnp
from flax import nnx
from jaxtyping import PRNGKeyArray

from fsdiff.conditioners.base import Conditioner
from fsdiff.conditioners.posterior import ContextHead, PosteriorKind
from fsdiff.errors import ContractError
from fsdiff.registry import register
from fsdiff.typing import Conditioning, PositiveFloat, PositiveInt, Probability, SetEncoding


@register("conditioner", "spatial")
class SpatialConditioner(Conditioner):
    """Spatially aligned context: the set's per-position tokens ``"b p d"`` (a CNN encoder's feature map, a ViT's
    ``patch_mean`` tokens: row-major over a grid covering the image), projected (Linear + LayerNorm) to ``e``
    and reshaped to a grid ``"b gh gw e"`` with the image's aspect ratio, which the denoiser adds to its own
    feature maps at the same positions (a ``unet`` modulates every residual block with it, like SPADE, Park et
    al. 2019). Cross-attention (``lag``) has to *learn* where each context token belongs; here the alignment is
    given, so the class's shape reaches the denoiser from the first steps of training.

    ``posterior`` makes every grid cell a latent (as in ``lag``); ``null_prob`` drops a set's grid to a learned
    null vector at every position (classifier-free guidance). ``dim`` is the conditioning width ``e``, the
    encoder width by default.
    """

    provides = frozenset({"spatial"})

    def __init__(
        self,
        *,
        dim: PositiveInt | None = None,
        posterior: PosteriorKind = "none",
        codebook_size: PositiveInt = 512,
        temperature: PositiveFloat = 1.0,
        null_prob: Probability = 0.0,
        in_dim: int,
        image_shape: tuple[int, int, int],
        rngs: nnx.Rngs,
    ):
        self.aspect = image_shape[0] / image_shape[1]
        self.head = ContextHead(
            in_dim,
            dim or in_dim,
            posterior=posterior,
            codebook_size=codebook_size,
            temperature=temperature,
            null_prob=null_prob,
            rngs=rngs,
        )

    def __call__(self, encoding: SetEncoding, key: PRNGKeyArray | None = None) -> Conditioning:
        grid, kl = self.head(self._grid(encoding), key)
        return Conditioning(vector=None, tokens=None, kl=kl, spatial=grid)

    def null(self, encoding: SetEncoding) -> Conditioning:
        grid = self._grid(encoding)
        return Conditioning(
            vector=None, tokens=None, kl=jnp.zeros(grid.shape[:1], grid.dtype), spatial=self.head.null(grid)
        )

    def _grid(self, encoding: SetEncoding) -> jnp.ndarray:
        """``"b p d" -> "b gh gw d"`` with ``gh * gw = p`` and ``gh / gw`` the image's aspect ratio."""
        b, p, d = encoding.tokens.shape
        gh = max(1, round(math.sqrt(p * self.aspect)))
        gw = p // gh
        if gh * gw != p or not math.isclose(gh / gw, self.aspect):
            raise ContractError(
                f"conditioner:spatial: the encoder's {p} tokens do not tile a grid with the image's aspect ratio "
                f"{self.aspect:g} (height / width); use an encoder whose tokens are per-position features "
                "(cnn, or vit with pool: patch_mean)"
            )
        return encoding.tokens.reshape(b, gh, gw, d)
