"""The pre-norm transformer block of ViT encoders."""

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Bool, Float

from fsdiff.nn.attention import Attention
from fsdiff.nn.mlp import Mlp
from fsdiff.nn.sets import others_index


class TransformerBlock(nnx.Module):
    """Pre-norm transformer block (ViT, Dosovitskiy et al. 2021): ``x + Attention(LN(x))``, then
    ``x + Mlp(LN(x))``. ``learned_temperature`` turns the attention into locality self-attention's learnable
    temperature (Lee et al. 2021); its diagonal mask, like any key mask, is the caller's ``mask "b p p"``."""

    def __init__(
        self,
        dim: int,
        *,
        heads: int,
        head_dim: int | None = None,
        mlp_ratio: float = 4.0,
        learned_temperature: bool = False,
        dropout: float = 0.0,
        rngs: nnx.Rngs,
    ):
        self.attention_norm = nnx.LayerNorm(dim, rngs=rngs)
        self.attention = Attention(
            dim, heads=heads, head_dim=head_dim, learned_temperature=learned_temperature, dropout=dropout, rngs=rngs
        )
        self.mlp_norm = nnx.LayerNorm(dim, rngs=rngs)
        self.mlp = Mlp(dim, ratio=mlp_ratio, dropout=dropout, rngs=rngs)

    def __call__(self, x: Float[Array, "b p d"], mask: Bool[Array, "b p p"] | None = None) -> Float[Array, "b p d"]:
        x = x + self.attention(self.attention_norm(x), mask=mask)
        return x + self.mlp(self.mlp_norm(x))

    def leave_one_out(
        self, summary: Float[Array, "bn k d"], elements: Float[Array, "b n p d"]
    ) -> Float[Array, "bn s d"]:
        """The block on every leave-one-out sequence of a set: sequence ``(set, i)`` is ``summary[set * n + i]``
        followed by the tokens of the set's elements other than ``i`` (see ``Attention.leave_one_out``, which
        shares the per-element work); the result equals ``self(sequence)`` for each, set-major."""
        b, n, p, d = elements.shape
        x = jnp.concatenate([summary, elements[:, others_index(n)].reshape(b * n, (n - 1) * p, d)], axis=1)
        x = x + self.attention.leave_one_out(self.attention_norm(summary), self.attention_norm(elements))
        return x + self.mlp(self.mlp_norm(x))
