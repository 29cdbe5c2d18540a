"""Multi-head attention shared by encoders and denoisers: self- or cross-attention with an optional mask, and the
self-attention of every leave-one-out sequence of a set at once; each fast on its backend (``attend``)."""

import logging
import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.typing import DTypeLike
from jaxtyping import Array, Bool, Float

from fsdiff.nn.sets import others_index

_log = logging.getLogger(__name__)


class Attention(nnx.Module):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017).

    Self-attention when ``context`` is None, cross-attention to ``context "b k dc"`` otherwise. ``mask "b q k"``
    (True = may attend) removes keys completely. ``learned_temperature`` replaces the fixed ``1/sqrt(head_dim)``
    by a learnable one, as in locality self-attention (Lee et al. 2021, "Vision Transformer for Small-Size
    Datasets"); the diagonal mask of LSA is the caller's ``mask``.

    ``fused`` chooses the attention kernels (``attend``): None (default) by the backend at trace time, fused on a
    GPU and written out on a CPU; True or False forces one (tests compare both on a CPU).
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
        fused: bool | None = None,
        rngs: nnx.Rngs,
    ):
        head_dim = head_dim or dim // heads
        inner = heads * head_dim
        self.heads, self.head_dim, self.fused = heads, head_dim, fused
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
        return self.output(attend(self.queries(x), key, value, mask, fused=self.fused))

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
        times fewer scores than ``n`` separate sequences. With fused attention (a GPU) the sequences are gathered
        from the once-projected tokens instead and attended by the fused kernel (more scores, but in one kernel).
        """
        if _use_fused(self.fused):
            return self._leave_one_out_fused(summary, elements)
        b, n, p, _ = elements.shape
        k = summary.shape[1]
        others = others_index(n)
        query, key, value = self.queries(elements), *self.keys_values(elements)  # each b n p h e
        summary_query = self.queries(summary)  # (b n) k h e
        summary_key, summary_value = (a.reshape(b, n, k, self.heads, self.head_dim) for a in self.keys_values(summary))
        # Element queries against each key element m: log-sum-exp and softmax-weighted values within m.
        logits = jnp.einsum("bjphe,bmqhe->bhjpmq", query, key).astype(jnp.float32)
        lse = jax.nn.logsumexp(logits, axis=-1)  # b h j p m
        within = jnp.einsum("bhjpmq,bmqhe->bhjpme", jnp.exp(logits - lse[..., None]), value)
        # Element queries against the summary keys of each sequence i.
        summary_logits = jnp.einsum("bjphe,bikhe->bihjpk", query, summary_key).astype(jnp.float32)
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
        summary_attended = attend(summary_query, sequence_key, sequence_value, None, fused=False)
        return self.output(jnp.concatenate([summary_attended, attended], axis=1))

    def _leave_one_out_fused(
        self, summary: Float[Array, "bn k d"], elements: Float[Array, "b n p d"]
    ) -> Float[Array, "bn s d"]:
        """``leave_one_out`` as fused attention over each gathered sequence (projections still once per token)."""
        summary_key, summary_value = self.keys_values(summary)
        key, value = self.keys_values(elements)
        query = jnp.concatenate([self.queries(summary), _gather(self.queries(elements))], axis=1)
        key = jnp.concatenate([summary_key, _gather(key)], axis=1)
        value = jnp.concatenate([summary_value, _gather(value)], axis=1)
        return self.output(attend(query, key, value, None, fused=True))


def attend(
    query: Float[Array, "b q h e"],
    key: Float[Array, "b k h e"],
    value: Float[Array, "b k h e"],
    mask: Bool[Array, "b q k"] | None,
    *,
    fused: bool | None = None,
) -> Float[Array, "b q h e"]:
    """Softmax attention of (already scaled) queries, in float32 whatever the compute dtype; masked keys get a
    large negative logit, so a fully masked row stays finite (uniform).

    ``fused`` (None: by ``jax.default_backend()`` at trace time, fused everywhere but on a CPU) calls
    ``jax.nn.dot_product_attention``, with cuDNN's flash attention where ``fused_implementation`` says it applies
    (else XLA's). Not fused, the same operations are written out: that function's layout makes XLA's CPU backend
    fuse slow transposed batched matmuls (``benchmarks/RESULTS.md``: a faster step at equal results).
    """
    if _use_fused(fused):
        dtype = jnp.result_type(key, value)
        query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
        mask = None if mask is None else mask[:, None, :, :]
        implementation = fused_implementation(dtype, query.shape[-1], jax.default_backend())
        try:
            return jax.nn.dot_product_attention(query, key, value, mask=mask, scale=1.0, implementation=implementation)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            if implementation is None:
                raise
            _log.warning("cuDNN attention unavailable (%s); using XLA's fused attention", exc)
            return jax.nn.dot_product_attention(query, key, value, mask=mask, scale=1.0)
    logits = jnp.einsum("bqhe,bkhe->bhqk", query, key).astype(jnp.float32)
    if mask is not None:
        logits = jnp.where(mask[:, None, :, :], logits, _LARGE_NEGATIVE)
    weights = jax.nn.softmax(logits, axis=-1).astype(value.dtype)
    return jnp.einsum("bhqk,bkhe->bqhe", weights, value)


def fused_implementation(dtype: DTypeLike, head_dim: int, backend: str) -> Literal["cudnn"] | None:
    """The ``implementation`` of ``jax.nn.dot_product_attention`` for these inputs: cuDNN's flash attention on a
    GPU for half-precision inputs with a head width it supports (a multiple of 8, at most 128), else None (XLA's;
    JAX does not pick cuDNN by itself)."""
    half = jnp.dtype(dtype) in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
    return "cudnn" if backend == "gpu" and half and head_dim % 8 == 0 and head_dim <= 128 else None


def _use_fused(fused: bool | None) -> bool:
    return jax.default_backend() != "cpu" if fused is None else fused


def _gather(x: Float[Array, "b n p h e"]) -> Float[Array, "bn s h e"]:
    """Each leave-one-out sequence's element tokens: ``"(b n) ((n-1) p) h e"``, element-major."""
    b, n, p = x.shape[:3]
    return x[:, others_index(n)].reshape(b * n, (n - 1) * p, *x.shape[3:])


_LARGE_NEGATIVE = -0.7 * float(np.finfo(np.float32).max)
