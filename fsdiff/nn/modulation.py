"""adaLN / FiLM modulation."""

from jaxtyping import Array, Float


def modulate(
    x: Float[Array, "b *rest d"], shift: Float[Array, "b d"], scale: Float[Array, "b d"]
) -> Float[Array, "b *rest d"]:
    """``x * (1 + scale) + shift`` with per-example ``shift``/``scale`` broadcast over all middle axes (DiT)."""
    expand = (slice(None),) + (None,) * (x.ndim - 2) + (slice(None),)
    return x * (1.0 + scale[expand]) + shift[expand]
