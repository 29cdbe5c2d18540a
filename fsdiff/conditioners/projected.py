"""``ProjectedConditioner``: the shared form of the shipped conditioners, one part of the set encoding through a
``ContextHead`` (projection, optional posterior, context dropout) into one conditioning form."""

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float, PRNGKeyArray

from fsdiff.conditioners.base import Conditioner
from fsdiff.conditioners.posterior import ContextHead, PosteriorKind
from fsdiff.typing import Conditioning, PerSet, PositiveFloat, PositiveInt, Probability, SetEncoding


class ProjectedConditioner(Conditioner):
    """``features(encoding)`` (the part of the encoding a subclass reads) projected (Linear + LayerNorm) to the
    conditioning ``width`` (the encoder width by default) and returned as the one form in ``provides``.

    ``posterior`` makes the conditioning a variational context: ``gaussian`` (reparameterized, KL to ``N(0, I)``)
    or ``discrete`` (one code per latent vector from a ``codebook_size`` codebook, Gumbel-softmax at
    ``temperature``, KL to uniform). ``null_prob`` drops a set's whole conditioning, during training, to a learned
    null vector at every position (classifier-free guidance). Unlike FSDM's code, the posterior and the dropout are
    options of every conditioner rather than separate model classes. ``image_shape`` (given by ``build_model``)
    is the shape of the images the conditioning is for.
    """

    def __init__(
        self,
        *,
        width: PositiveInt | None = None,
        posterior: PosteriorKind = "none",
        codebook_size: PositiveInt = 512,
        temperature: PositiveFloat = 1.0,
        null_prob: Probability = 0.0,
        in_dim: int,
        image_shape: tuple[int, int, int] | None = None,
        rngs: nnx.Rngs,
    ):
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.head = ContextHead(
            in_dim,
            width or in_dim,
            posterior=posterior,
            codebook_size=codebook_size,
            temperature=temperature,
            null_prob=null_prob,
            rngs=rngs,
        )

    def __call__(self, encoding: SetEncoding, key: PRNGKeyArray | None = None) -> Conditioning:
        conditioning, kl = self.head(self.features(encoding), key)
        return self._conditioning(conditioning, kl)

    def null(self, encoding: SetEncoding) -> Conditioning:
        features = self.features(encoding)
        return self._conditioning(self.head.null(features), jnp.zeros(features.shape[:1], features.dtype))

    def features(self, encoding: SetEncoding) -> Float[Array, "b *rest d"]:
        """The part of ``encoding`` this conditioner projects."""
        raise TypeError(f"{type(self).__name__} must define features")

    def _conditioning(self, value: Float[Array, "b *rest e"], kl: PerSet) -> Conditioning:
        forms = dict.fromkeys(("vector", "tokens", "spatial")) | dict.fromkeys(self.provides, value)
        return Conditioning(kl=kl, **forms)
