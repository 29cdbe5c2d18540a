"""Inputs the kit synthesizes for each kind: sets for encoders, encodings for conditioners, noisy images, integer
timesteps and conditionings for denoisers. Seeded NumPy draws, so every check sees the same data."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Bool, Float, Int

from fsdiff.testing.subject import Subject
from fsdiff.typing import Conditioning, SetEncoding

BATCH = 2
"""Sets (encoders, conditioners) or images (denoisers) per batch."""

TOKENS = 4
"""Tokens of a synthesized ``SetEncoding`` or ``Conditioning``."""

STEPS = 1000
"""Timesteps are drawn from ``[0, STEPS)``, the default diffusion length."""


def example_inputs(subject: Subject, module: nnx.Module, seed: int = 0, *, keyed: bool = True) -> tuple:
    """The positional arguments of one call of ``module``, drawn with ``seed``; the first is always the input
    proper (the set, the encoding, the noisy image):

    - encoder: ``(x "b n h w c", mask "b n", t "b" or None)``, ``n`` the set size, the last element of the first
      set masked out (when ``n > 1``), ``t`` given to a ``time_aware`` encoder only;
    - conditioner: ``(SetEncoding(tokens "b p d", pooled "b d"), key)``, ``d = in_dim``, the key None unless
      ``keyed``;
    - denoiser: ``(x "b h w c", t "b" int32, Conditioning)`` with every form the denoiser ``accepts``, width
      ``context_dim``.
    """
    rng = np.random.default_rng(seed)
    if subject.kind == "encoder":
        n = subject.derived["set_size"]
        mask = np.ones((BATCH, n), bool)
        if n > 1:
            mask[0, -1] = False
        t = timesteps(rng, BATCH) if module.time_aware else None
        return images(rng, (BATCH, n, *subject.derived["image_shape"])), jnp.asarray(mask), t
    if subject.kind == "conditioner":
        return encoding(rng, BATCH, subject.derived["in_dim"]), (jax.random.key(seed) if keyed else None)
    cond = conditioning(rng, BATCH, subject.derived["context_dim"], module.accepts)
    return images(rng, (BATCH, *subject.derived["image_shape"])), timesteps(rng, BATCH), cond


def images(rng: np.random.Generator, shape: tuple[int, ...]) -> Float[Array, "..."]:
    """Standard normal float32 images (the scale of noisy diffusion inputs)."""
    return jnp.asarray(rng.standard_normal(shape, np.float32))


def timesteps(rng: np.random.Generator, batch: int) -> Int[Array, " b"]:
    """Integer diffusion timesteps in ``[0, STEPS)``."""
    return jnp.asarray(rng.integers(0, STEPS, batch, dtype=np.int32))


def encoding(rng: np.random.Generator, batch: int, dim: int) -> SetEncoding:
    """A random ``SetEncoding`` of ``TOKENS`` tokens of width ``dim``."""
    return SetEncoding(tokens=images(rng, (batch, TOKENS, dim)), pooled=images(rng, (batch, dim)))


def conditioning(rng: np.random.Generator, batch: int, dim: int, forms: frozenset[str]) -> Conditioning:
    """A random ``Conditioning`` of width ``dim`` holding the ``forms`` (``vector``, ``tokens``, ``spatial``: a
    square grid of ``TOKENS`` cells), zero KL."""
    vector = images(rng, (batch, dim)) if "vector" in forms else None
    tokens = images(rng, (batch, TOKENS, dim)) if "tokens" in forms else None
    side = math.isqrt(TOKENS)
    spatial = images(rng, (batch, side, side, dim)) if "spatial" in forms else None
    return Conditioning(vector=vector, tokens=tokens, kl=jnp.zeros((batch,), jnp.float32), spatial=spatial)


def all_present(batch: int, n: int) -> Bool[Array, "b n"]:
    """An element mask with every element present."""
    return jnp.ones((batch, n), bool)
