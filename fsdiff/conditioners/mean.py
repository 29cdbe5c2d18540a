"""The ``mean`` conditioner: one conditioning vector per set from the pooled encoding, for FiLM / adaLN."""

import jax.numpy as jnp
from flax import nnx
from jaxtyping import PRNGKeyArray

from fsdiff.conditioners.base import Conditioner
from fsdiff.conditioners.posterior import ContextHead, PosteriorKind
from fsdiff.registry import register
from fsdiff.typing import Conditioning, PositiveFloat, PositiveInt, Probability, SetEncoding


@register("conditioner", "mean")
class MeanConditioner(Conditioner):
    """The set's pooled encoding, projected (Linear + LayerNorm) to a vector ``"b e"`` that a denoiser adds to its
    time embedding (FSDM's FiLM-style conditioning, Giannone et al. 2022).

    ``posterior`` makes the vector a variational context: ``gaussian`` (reparameterized, KL to ``N(0, I)``) or
    ``discrete`` (one code from a ``codebook_size`` codebook, Gumbel-softmax at ``temperature``, KL to uniform).
    ``null_prob`` drops a set's vector to a learned null during training (classifier-free guidance). ``dim`` is the
    conditioning width ``e``, the encoder width by default. Unlike FSDM's code, the posterior and the dropout are
    options of one conditioner rather than separate model classes.
    """

    provides = frozenset({"vector"})

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
        vector, kl = self.head(encoding.pooled, key)
        return Conditioning(vector=vector, tokens=None, kl=kl)

    def null(self, encoding: SetEncoding) -> Conditioning:
        pooled = encoding.pooled
        return Conditioning(vector=self.head.null(pooled), tokens=None, kl=jnp.zeros(pooled.shape[:1], pooled.dtype))
