"""The summary tokens a set transformer prepends to its patch tokens: CLS and, optionally, diffusion time."""

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float, Real

from fsdiff.nn.time import TimestepEmbedder


class SummaryTokens(nnx.Module):
    """``"b" -> "b k d"``: a learned CLS token (ViT) and, with ``time``, a token embedding each set's diffusion
    time, as FSDM's set encoders condition on ``t`` (Giannone et al. 2022); ``k`` is 1, or 2 with time. The tokens
    carry no position, so every patch position treats them alike. Without ``t`` (a clean set) the time token is
    zeros, as in FSDM, rather than the embedding of some timestep."""

    def __init__(self, dim: int, *, time: bool, rngs: nnx.Rngs):
        self.cls = nnx.Param(0.02 * jax.random.normal(rngs.params(), (1, 1, dim), jnp.float32))
        self.time = TimestepEmbedder(dim, rngs=rngs) if time else None

    def __call__(self, batch: int, t: Real[Array, "b"] | None) -> Float[Array, "b k d"]:
        cls = jnp.broadcast_to(self.cls[...], (batch, 1, self.cls.shape[-1]))
        if self.time is None:
            return cls
        time = jnp.zeros_like(cls) if t is None else self.time(t)[:, None, :]
        return jnp.concatenate([cls, time], axis=1)
