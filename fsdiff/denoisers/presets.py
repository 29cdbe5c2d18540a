"""Named DiT sizes (Peebles & Xie 2023, Table 1) as data, registered as ``dit_s`` and ``dit_b``."""

from flax import nnx

from fsdiff.denoisers.dit import DiT
from fsdiff.registry import register
from fsdiff.typing import PositiveFloat, PositiveInt, Probability

PRESETS = {
    "S": {"width": 384, "depth": 12, "heads": 6},
    "B": {"width": 768, "depth": 12, "heads": 12},
}
"""DiT model sizes: the options each named size fixes."""


@register("denoiser", "dit_s")
def dit_s(
    *,
    patch: PositiveInt = 2,
    mlp_ratio: PositiveFloat = 4.0,
    dropout: Probability = 0.0,
    cross_every: PositiveInt = 1,
    image_shape: tuple[int, int, int],
    context_dim: int,
    out_channels: int,
    rngs: nnx.Rngs,
) -> DiT:
    """DiT-S: width 384, depth 12, 6 heads; the other options as in ``dit``."""
    return DiT(
        **PRESETS["S"],
        patch=patch,
        mlp_ratio=mlp_ratio,
        dropout=dropout,
        cross_every=cross_every,
        image_shape=image_shape,
        context_dim=context_dim,
        out_channels=out_channels,
        rngs=rngs,
    )


@register("denoiser", "dit_b")
def dit_b(
    *,
    patch: PositiveInt = 2,
    mlp_ratio: PositiveFloat = 4.0,
    dropout: Probability = 0.0,
    cross_every: PositiveInt = 1,
    image_shape: tuple[int, int, int],
    context_dim: int,
    out_channels: int,
    rngs: nnx.Rngs,
) -> DiT:
    """DiT-B: width 768, depth 12, 12 heads; the other options as in ``dit``."""
    return DiT(
        **PRESETS["B"],
        patch=patch,
        mlp_ratio=mlp_ratio,
        dropout=dropout,
        cross_every=cross_every,
        image_shape=image_shape,
        context_dim=context_dim,
        out_channels=out_channels,
        rngs=rngs,
    )
