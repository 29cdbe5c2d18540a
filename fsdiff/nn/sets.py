"""Reductions over the elements of a set that honour an element mask, and the leave-one-out gather."""

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float


def element_sum(x: Float[Array, "b n *rest"], mask: Bool[Array, "b n"] | None = None) -> Float[Array, "b *rest"]:
    """Sum over the present elements (``mask`` True). Masked elements enter through ``jnp.where``, so neither
    their values (even non-finite ones) nor their gradients reach the result: their gradient is exactly zero."""
    if mask is None:
        return x.sum(axis=1)
    return jnp.where(_expand(mask, x.ndim), x, 0.0).sum(axis=1)


def element_mean(x: Float[Array, "b n *rest"], mask: Bool[Array, "b n"] | None = None) -> Float[Array, "b *rest"]:
    """Mean over the present elements, as ``element_sum``; a set without any present element gives zeros."""
    if mask is None:
        return x.mean(axis=1)
    count = jnp.maximum(mask.sum(axis=1), 1).astype(x.dtype)
    return element_sum(x, mask) / count.reshape(-1, *(1,) * (x.ndim - 2))


def others_index(n: int) -> np.ndarray:
    """``"n n-1"`` integer indices: row ``i`` lists the elements of a set of ``n`` other than ``i``, in order, so
    ``x[:, others_index(n)]`` gathers every leave-one-out subset at once."""
    columns = np.arange(n - 1, dtype=np.int32)[None, :]
    return columns + (columns >= np.arange(n, dtype=np.int32)[:, None])  # vectorized: a huge n fails at once


def _expand(mask: Bool[Array, "b n"], ndim: int) -> Bool[Array, "b n *ones"]:
    return mask.reshape(*mask.shape, *(1,) * (ndim - 2))
