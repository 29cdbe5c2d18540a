"""Tiny registered-able components used by the foundation tests."""

from typing import Literal

import jax.numpy as jnp
from flax import nnx
from jaxtyping import PRNGKeyArray

import fsdiff
from fsdiff.typing import (
    Conditioning,
    DenoiserOutput,
    ElementMask,
    Images,
    PositiveInt,
    Probability,
    SetEncoding,
    SetImages,
    Timesteps,
)


class MeanEncoder(fsdiff.Encoder):
    """Mean of a linear projection of the flattened images over the present elements."""

    def __init__(
        self,
        *,
        width: PositiveInt = 8,
        depth: PositiveInt = 2,
        dropout: Probability = 0.0,
        image_shape: tuple[int, int, int],
        rngs: nnx.Rngs,
    ):
        if depth > 8:
            raise ValueError(f"depth {depth} > 8 is not supported")
        h, w, c = image_shape
        self.proj = nnx.Linear(h * w * c, width, rngs=rngs)

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        b, n = x.shape[:2]
        feats = self.proj(x.reshape(b, n, -1))
        weights = jnp.ones((b, n), jnp.float32) if mask is None else mask.astype(jnp.float32)
        pooled = (feats * weights[..., None]).sum(1) / jnp.maximum(weights.sum(1), 1.0)[:, None]
        return SetEncoding(tokens=feats, pooled=pooled)


class WrongOutputEncoder(fsdiff.Encoder):
    """Returns a pooled vector whose batch size disagrees with the input's."""

    def __init__(self, *, rngs: nnx.Rngs):
        pass

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        b, n = x.shape[:2]
        return SetEncoding(tokens=jnp.zeros((b, n, 4)), pooled=jnp.zeros((b + 1, 4)))


class LinearConditioner(fsdiff.Conditioner):
    """A linear map of the pooled encoding to a conditioning vector."""

    provides = frozenset({"vector"})

    def __init__(self, *, width: PositiveInt = 8, scale: float = 1.0, in_dim: int, rngs: nnx.Rngs):
        self.proj = nnx.Linear(in_dim, width, rngs=rngs)
        self.scale = scale
        self.null_vector = nnx.Param(jnp.zeros((width,)))

    def __call__(self, encoding: SetEncoding, key: PRNGKeyArray | None = None) -> Conditioning:
        vector = self.scale * self.proj(encoding.pooled)
        return Conditioning(vector=vector, tokens=None, kl=jnp.zeros(vector.shape[0]))

    def null(self, encoding: SetEncoding) -> Conditioning:
        b = encoding.pooled.shape[0]
        return Conditioning(vector=jnp.tile(self.null_vector[...], (b, 1)), tokens=None, kl=jnp.zeros(b))


class FilmDenoiser(fsdiff.Denoiser):
    """A per-pixel linear map shifted by a projection of the conditioning vector and the timestep."""

    accepts = frozenset({"vector"})

    def __init__(
        self,
        *,
        hidden: PositiveInt,
        mode: Literal["add", "mul"] = "add",
        image_shape: tuple[int, int, int],
        context_dim: int,
        out_channels: int,
        rngs: nnx.Rngs,
    ):
        c = image_shape[-1]
        self.inp = nnx.Linear(c, hidden, rngs=rngs)
        self.film = nnx.Linear(context_dim, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, out_channels, rngs=rngs)

    def __call__(self, x: Images, t: Timesteps, cond: Conditioning) -> DenoiserOutput:
        shift = self.film(cond.vector) + t.astype(jnp.float32)[:, None] / 1000.0
        return self.out(jnp.tanh(self.inp(x) + shift[:, None, None, :]))


TOY_COMPONENTS = {
    "encoder": {"toy_enc": MeanEncoder},
    "conditioner": {"toy_cond": LinearConditioner},
    "denoiser": {"toy_den": FilmDenoiser},
}


def register_toys() -> None:
    """Register the toy components (call inside ``fsdiff.isolated_registry()``)."""
    for kind, entries in TOY_COMPONENTS.items():
        for name, cls in entries.items():
            fsdiff.register(kind, name)(cls)
