"""The ``mean`` conditioner: one conditioning vector per set from the pooled encoding, for FiLM / adaLN."""

from jaxtyping import Array, Float

from fsdiff.conditioners.projected import ProjectedConditioner
from fsdiff.registry import register
from fsdiff.typing import SetEncoding


@register("conditioner", "mean")
class MeanConditioner(ProjectedConditioner):
    """The set's pooled encoding, projected (Linear + LayerNorm) to a vector ``"b e"`` that a denoiser adds to its
    time embedding (FSDM's FiLM-style conditioning, Giannone et al. 2022). Options as ``ProjectedConditioner``:
    ``posterior`` makes the vector a variational context, ``null_prob`` drops it to a learned null in training.
    """

    provides = frozenset({"vector"})

    def features(self, encoding: SetEncoding) -> Float[Array, "b d"]:
        return encoding.pooled
