"""Multi-head attention shared by encoders and denoisers: self- or cross-attention with an optional mask."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Bool, Float


class Attention(nnx.Module):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017) over ``jax.nn.dot_product_attention``.

    Self-attention when ``context`` is None, cross-attention to ``context "b k dc"`` otherwise. ``mask "b q k"``
    (True = may attend) removes keys completely. ``learned_temperature`` replaces the fixed ``1/sqrt(head_dim)``
    by a learnable one, as in locality self-attention (Lee et al. 2021, "Vision Transformer for Small-Size
    Datasets"); the diagonal mask of LSA is the caller's ``mask``.

    The attention is written out head-major (``"b heads q k"``) rather than calling
    ``jax.nn.dot_product_attention``: the same operations (scores, large-negative mask, float32 softmax, weighted
    sum), but XLA's CPU backend fuses the latter's sequence-major layout into slow transposed batched matmuls
    (``benchmarks/RESULTS.md``: a faster training step at equal results).
    """

    def __init__(
        self,
        dim: int,
        *,
        heads: int,
        head_dim: int | None = None,
        context_dim: int | None = None,
        learned_temperature: bool = False,
        dropout: float = 0.0,
        rngs: nnx.Rngs,
    ):
        head_dim = head_dim or dim // heads
        inner = heads * head_dim
        self.heads, self.head_dim = heads, head_dim
        self.query = nnx.Linear(dim, inner, rngs=rngs)
        self.key_value = nnx.Linear(context_dim or dim, 2 * inner, rngs=rngs)
        self.out = nnx.Linear(inner, dim, rngs=rngs)
        self.log_temperature = (
            nnx.Param(jnp.asarray(-0.5 * jnp.log(float(head_dim)), jnp.float32)) if learned_temperature else None
        )
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def __call__(
        self,
        x: Float[Array, "b q d"],
        context: Float[Array, "b k dc"] | None = None,
        mask: Bool[Array, "b q k"] | None = None,
    ) -> Float[Array, "b q d"]:
        context = x if context is None else context
        b, q, _ = x.shape
        query = self.query(x).reshape(b, q, self.heads, self.head_dim).transpose(0, 2, 1, 3)  # b heads q e
        key_value = self.key_value(context).reshape(b, -1, 2, self.heads, self.head_dim)
        key, value = key_value.transpose(2, 0, 3, 1, 4)  # each b heads k e
        if self.log_temperature is not None:
            query = query * jnp.exp(self.log_temperature[...])
        else:
            query = query * (1.0 / math.sqrt(self.head_dim))
        logits = jnp.einsum("bhqe,bhke->bhqk", query, key)
        if mask is not None:
            logits = jnp.where(mask[:, None, :, :], logits, _LARGE_NEGATIVE)
        weights = jax.nn.softmax(logits, axis=-1)
        attended = jnp.einsum("bhqk,bhke->bqhe", weights, value)
        return self.dropout(self.out(attended.reshape(b, q, self.heads * self.head_dim)))


_LARGE_NEGATIVE = -0.7 * float(np.finfo(np.float32).max)
"""The logit of a masked key, as ``jax.nn.dot_product_attention`` uses: a fully masked row stays finite (uniform)."""
