"""The ``lag`` conditioner: the encoder's patch tokens as a context for cross-attention."""

import jax.numpy as jnp
from flax import nnx
from jaxtyping import PRNGKeyArray

from fsdiff.conditioners.base import Conditioner
from fsdiff.conditioners.posterior import ContextHead, PosteriorKind
from fsdiff.registry import register
from fsdiff.typing import Conditioning, PositiveFloat, PositiveInt, Probability, SetEncoding


@register("conditioner", "lag")
class LagConditioner(Conditioner):
    """FSDM's "learning a good context" mode (Giannone et al. 2022): the set's patch tokens ``"b p d"``, projected
    (Linear + LayerNorm) to ``"b p e"``, which the denoiser reads with cross-attention.

    ``posterior`` makes every token a latent: ``gaussian`` (reparameterized, KL to ``N(0, I)`` over all ``p * e``
    dimensions) or ``discrete`` (one code per token from a ``codebook_size`` codebook, Gumbel-softmax at
    ``temperature``, KL to uniform per code). ``null_prob`` drops a set's tokens, all together, to a learned null
    token repeated at every position (classifier-free guidance). ``dim`` is the conditioning width ``e``, the
    encoder width by default. Unlike FSDM's code, the time embedding is never replaced by the context: that is the
    denoiser's business, and ``dit`` keeps it.
    """

    provides = frozenset({"tokens"})

    def __init__(
        self,
        *,
        dim: PositiveInt | None = None,
        posterior: PosteriorKind = "none",
        codebook_size: PositiveInt = 512,
        temperature: PositiveFloat = 1.0,
        null_prob: Probability = 0.0,
        in_dim: int,
        rngs: nnx.Rngs,
    ):
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
        tokens, kl = self.head(encoding.tokens, key)
        return Conditioning(vector=None, tokens=tokens, kl=kl)

    def null(self, encoding: SetEncoding) -> Conditioning:
        tokens = encoding.tokens
        return Conditioning(vector=None, tokens=self.head.null(tokens), kl=jnp.zeros(tokens.shape[:1], tokens.dtype))
