"""Named DiT sizes (Peebles & Xie 2023, Table 1) as data, registered as ``dit_s`` and ``dit_b``."""

from collections.abc import Callable

from flax import nnx

from fsdiff.denoisers.dit import DiT
from fsdiff.registry import register
from fsdiff.typing import PositiveFloat, PositiveInt, Probability

PRESETS = {
    "S": {"width": 384, "depth": 12, "heads": 6},
    "B": {"width": 768, "depth": 12, "heads": 12},
}
"""DiT model sizes: the options each named size fixes."""


def named_size(size: str) -> Callable[..., DiT]:
    """A factory of DiT-``size``: ``dit``'s options except those the size fixes."""
    fixed = PRESETS[size]

    def build(
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
        return DiT(
            **fixed,
            patch=patch,
            mlp_ratio=mlp_ratio,
            dropout=dropout,
            cross_every=cross_every,
            image_shape=image_shape,
            context_dim=context_dim,
            out_channels=out_channels,
            rngs=rngs,
        )

    build.__name__ = build.__qualname__ = f"dit_{size.lower()}"
    build.__doc__ = (
        f"DiT-{size}: width {fixed['width']}, depth {fixed['depth']}, {fixed['heads']} heads; "
        "the other options as in ``dit``."
    )
    return build


dit_s = register("denoiser", "dit_s")(named_size("S"))
dit_b = register("denoiser", "dit_b")(named_size("B"))
