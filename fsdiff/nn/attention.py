"""Multi-head attention shared by encoders and denoisers: self- or cross-attention with an optional mask, and the
self-attention of every leave-one-out sequence of a set at once."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Bool, Float

from fsdiff.nn.sets import others_index


class Attention(nnx.Module):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017).

    Self-attention when ``context`` is None, cross-attention to ``context "b k dc"`` otherwise. ``mask "b q k"``
    (True = may attend) removes keys completely. ``learned_temperature`` replaces the fixed ``1/sqrt(head_dim)``
    by a learnable one, as in locality self-attention (Lee et al. 2021, "Vision Transformer for Small-Size
    Datasets"); the diagonal mask of LSA is the caller's ``mask``.

    The attention is written out (``attend``) rather than calling ``jax.nn.dot_product_attention``: the same
    operations (scores, large-negative mask, float32 softmax, weighted sum), but that function's layout makes XLA's
    CPU backend fuse slow transposed batched matmuls (``benchmarks/RESULTS.md``: a faster step at equal results).
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
        key, value = self.keys_values(x if context is None else context)
        return self.output(attend(self.queries(x), key, value, mask))

    def queries(self, x: Float[Array, "*batch q d"]) -> Float[Array, "*batch q h e"]:
        """Per-head queries, scaled by ``1/sqrt(head_dim)`` or the learned temperature."""
        query = self.query(x).reshape(*x.shape[:-1], self.heads, self.head_dim)
        if self.log_temperature is not None:
            return query * jnp.exp(self.log_temperature[...])
        return query * (1.0 / math.sqrt(self.head_dim))

    def keys_values(
        self, context: Float[Array, "*batch k dc"]
    ) -> tuple[Float[Array, "*batch k h e"], Float[Array, "*batch k h e"]]:
        """Per-head keys and values."""
        key_value = self.key_value(context).reshape(*context.shape[:-1], 2, self.heads, self.head_dim)
        return key_value[..., 0, :, :], key_value[..., 1, :, :]

    def output(self, attended: Float[Array, "*batch q h e"]) -> Float[Array, "*batch q d"]:
        """The heads concatenated, projected back to ``d``, and dropout."""
        return self.dropout(self.out(attended.reshape(*attended.shape[:-2], self.heads * self.head_dim)))

    def leave_one_out(
        self, summary: Float[Array, "bn k d"], elements: Float[Array, "b n p d"]
    ) -> Float[Array, "bn s d"]:
        """Self-attention of every leave-one-out sequence of a set, without forming them one by one.

        Sequence ``(set, i)`` is ``summary[set * n + i]`` (``k`` tokens of its own, e.g. a CLS token) followed by
        the ``p`` tokens of each element of the set other than ``i``, element-major (``s = k + (n - 1) p``): the
        result equals ``self(sequence)`` for each, set-major. The elements' queries, keys and values are
        projected once per element rather than once per sequence, and the scores between elements once per set:
        each element query's softmax is taken per key element (its log-sum-exp and normalized output), and the
        ``n - 1`` key elements of a sequence (and its summary) are merged by their log-sum-exps. That is ``n``
        times fewer scores than ``n`` separate sequences.
        """
        b, n, p, _ = elements.shape
        k = summary.shape[1]
        others = others_index(n)
        query, key, value = self.queries(elements), *self.keys_values(elements)  # each b n p h e
        summary_query = self.queries(summary)  # (b n) k h e
        summary_key, summary_value = (a.reshape(b, n, k, self.heads, self.head_dim) for a in self.keys_values(summary))
        # Element queries against each key element m: log-sum-exp and softmax-weighted values within m.
        logits = jnp.einsum("bjphe,bmqhe->bhjpmq", query, key)
        lse = jax.nn.logsumexp(logits, axis=-1)  # b h j p m
        within = jnp.einsum("bhjpmq,bmqhe->bhjpme", jnp.exp(logits - lse[..., None]), value)
        # Element queries against the summary keys of each sequence i.
        summary_logits = jnp.einsum("bjphe,bikhe->bihjpk", query, summary_key)
        summary_lse = jax.nn.logsumexp(summary_logits, axis=-1)  # b i h j p
        summary_within = jnp.einsum(
            "bihjpk,bikhe->bihjpe", jnp.exp(summary_logits - summary_lse[..., None]), summary_value
        )
        # Sequence i merges its summary and every key element m != i.
        kept = jnp.asarray(~np.eye(n, dtype=bool))[None, :, None, None, None, :]  # i m
        element_lse = jnp.where(kept, lse[:, None], -jnp.inf)  # b i h j p m
        total = jnp.logaddexp(summary_lse, jax.nn.logsumexp(element_lse, axis=-1))  # b i h j p
        attended = jnp.einsum("bihjpm,bhjpme->bihjpe", jnp.exp(element_lse - total[..., None]), within)
        attended = attended + jnp.exp(summary_lse - total)[..., None] * summary_within
        attended = attended[:, np.arange(n)[:, None], :, others]  # n n-1 b h p e: query elements j != i
        attended = attended.transpose(2, 0, 1, 4, 3, 5).reshape(b * n, (n - 1) * p, self.heads, self.head_dim)
        # The summary queries attend to their own sequence's keys: few queries, gathered keys.
        sequence_key = jnp.concatenate([summary_key.reshape(b * n, k, self.heads, self.head_dim), _gather(key)], 1)
        sequence_value = jnp.concatenate(
            [summary_value.reshape(b * n, k, self.heads, self.head_dim), _gather(value)], 1
        )
        summary_attended = attend(summary_query, sequence_key, sequence_value, None)
        return self.output(jnp.concatenate([summary_attended, attended], axis=1))


def attend(
    query: Float[Array, "b q h e"],
    key: Float[Array, "b k h e"],
    value: Float[Array, "b k h e"],
    mask: Bool[Array, "b q k"] | None,
) -> Float[Array, "b q h e"]:
    """Softmax attention of (already scaled) queries; masked keys get a large negative logit, as in
    ``jax.nn.dot_product_attention``, so a fully masked row stays finite (uniform)."""
    logits = jnp.einsum("bqhe,bkhe->bhqk", query, key)
    if mask is not None:
        logits = jnp.where(mask[:, None, :, :], logits, _LARGE_NEGATIVE)
    return jnp.einsum("bhqk,bkhe->bqhe", jax.nn.softmax(logits, axis=-1), value)


def _gather(x: Float[Array, "b n p h e"]) -> Float[Array, "bn s h e"]:
    """Each leave-one-out sequence's element tokens: ``"(b n) ((n-1) p) h e"``, element-major."""
    b, n, p = x.shape[:3]
    return x[:, others_index(n)].reshape(b * n, (n - 1) * p, *x.shape[3:])


_LARGE_NEGATIVE = -0.7 * float(np.finfo(np.float32).max)
