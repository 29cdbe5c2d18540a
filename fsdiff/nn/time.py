"""Diffusion-time embeddings."""

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float, Real


def timestep_embedding(t: Real[Array, "b"], dim: int, max_period: float = 10000.0) -> Float[Array, "b dim"]:
    """Sinusoidal embedding of (possibly fractional) timesteps, as in DDPM/DiT: ``[cos(t w), sin(t w)]``."""
    half = dim // 2
    freqs = jnp.exp(-jnp.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
    angles = t.astype(jnp.float32)[:, None] * freqs[None, :]
    emb = jnp.concatenate([jnp.cos(angles), jnp.sin(angles)], axis=-1)
    return jnp.pad(emb, ((0, 0), (0, dim - 2 * half)))


class TimestepEmbedder(nnx.Module):
    """DiT's timestep embedder: sinusoidal features -> Linear -> SiLU -> Linear, ``"b" -> "b dim"``."""

    def __init__(self, dim: int, *, frequency_dim: int = 256, rngs: nnx.Rngs):
        self.frequency_dim = frequency_dim
        self.hidden = nnx.Linear(frequency_dim, dim, rngs=rngs)
        self.out = nnx.Linear(dim, dim, rngs=rngs)

    def __call__(self, t: Real[Array, "b"]) -> Float[Array, "b dim"]:
        return self.out(jax.nn.silu(self.hidden(timestep_embedding(t, self.frequency_dim))))
