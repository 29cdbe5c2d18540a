"""The transformer feed-forward block."""

import jax
from flax import nnx
from jaxtyping import Array, Float


class Mlp(nnx.Module):
    """Linear -> GELU (tanh approximation, as in ViT/DiT) -> dropout -> linear; ``"... d" -> "... d"``."""

    def __init__(self, dim: int, *, ratio: float = 4.0, dropout: float = 0.0, rngs: nnx.Rngs):
        hidden = int(dim * ratio)
        self.up = nnx.Linear(dim, hidden, rngs=rngs)
        self.down = nnx.Linear(hidden, dim, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def __call__(self, x: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        return self.down(self.dropout(jax.nn.gelu(self.up(x), approximate=True)))
