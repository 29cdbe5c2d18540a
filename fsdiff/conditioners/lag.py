"""The ``lag`` conditioner: the encoder's patch tokens as a context for cross-attention."""

from jaxtyping import Array, Float

from fsdiff.conditioners.projected import ProjectedConditioner
from fsdiff.registry import register
from fsdiff.typing import SetEncoding


@register("conditioner", "lag")
class LagConditioner(ProjectedConditioner):
    """FSDM's "learning a good context" mode (Giannone et al. 2022): the set's patch tokens ``"b p d"``, projected
    (Linear + LayerNorm) to ``"b p e"``, which the denoiser reads with cross-attention.

    Options as ``ProjectedConditioner``: ``posterior`` makes every token a latent (a Gaussian KL over all ``p * e``
    dimensions, or one discrete code per token); ``null_prob`` drops a set's tokens, all together, to a learned
    null token at every position. Unlike FSDM's code, the time embedding is never replaced by the context: that is
    the denoiser's business, and ``dit`` keeps it.
    """

    provides = frozenset({"tokens"})

    def features(self, encoding: SetEncoding) -> Float[Array, "b p d"]:
        return encoding.tokens
