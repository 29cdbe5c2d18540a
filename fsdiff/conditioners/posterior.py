"""The variational context shared by every conditioner: encoder features are projected to the conditioning width,
optionally sampled from a posterior (Gaussian or discrete), and dropped per set to a learned null.

A posterior maps ``h "b *rest e"`` (and a key, or None) to ``(z "b *rest e", kl "b")``: with a key it samples
(training), without one it is deterministic (sampling, evaluation). ``kl`` is the KL to the prior per set, in bits
per latent dimension: the sum over the set's latent dimensions divided by their number and by ``ln 2``.
"""

import math
from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float, PRNGKeyArray

from fsdiff.debug import check_probabilities
from fsdiff.typing import PerSet

PosteriorKind = Literal["none", "gaussian", "discrete"]
"""The ``posterior`` option of a conditioner."""


class ContextHead(nnx.Module):
    """Encoder features ``"b *rest d"`` -> conditioning ``"b *rest e"`` and its per-set KL.

    Linear projection + LayerNorm, then the posterior named by ``posterior``, then context dropout: with a key,
    each set's whole conditioning is replaced by the learned null with probability ``null_prob`` (one draw per
    set, not per element, so classifier-free guidance can contrast a set with the null). A dropped set's KL is
    zero: its posterior sample conditions nothing, so its KL would only pull the posterior to the prior.
    """

    def __init__(
        self,
        in_dim: int,
        dim: int,
        *,
        posterior: PosteriorKind,
        codebook_size: int,
        temperature: float,
        null_prob: float,
        rngs: nnx.Rngs,
    ):
        self.proj = nnx.Linear(in_dim, dim, rngs=rngs)
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        builders = {
            "none": lambda: PointPosterior(),
            "gaussian": lambda: GaussianPosterior(dim, rngs=rngs),
            "discrete": lambda: DiscretePosterior(dim, codebook_size=codebook_size, temperature=temperature, rngs=rngs),
        }
        self.posterior = builders[posterior]()
        self.null_prob = null_prob
        # Small random init, like DiT's class-embedding table (its null class included).
        self.null_embedding = nnx.Param(0.02 * jax.random.normal(rngs.params(), (dim,), jnp.float32))

    def __call__(
        self, features: Float[Array, "b *rest d"], key: PRNGKeyArray | None = None
    ) -> tuple[Float[Array, "b *rest e"], PerSet]:
        h = self.norm(self.proj(features))
        if key is None:
            return self.posterior(h, None)
        sample_key, drop_key = jax.random.split(key)
        z, kl = self.posterior(h, sample_key)
        dropped = jax.random.bernoulli(drop_key, self.null_prob, (z.shape[0],))
        z = jnp.where(dropped.reshape(-1, *(1,) * (z.ndim - 1)), self.null(features), z)
        return z, jnp.where(dropped, jnp.zeros_like(kl), kl)

    def null(self, features: Float[Array, "b *rest d"]) -> Float[Array, "b *rest e"]:
        """The learned null conditioning, one shared vector broadcast to every set and position."""
        null = self.null_embedding[...]
        return jnp.broadcast_to(null, (*features.shape[:-1], null.shape[0]))


class PointPosterior(nnx.Module):
    """No posterior: the conditioning is the projected features themselves, with zero KL."""

    def __call__(
        self, h: Float[Array, "b *rest e"], key: PRNGKeyArray | None
    ) -> tuple[Float[Array, "b *rest e"], PerSet]:
        return h, jnp.zeros(h.shape[:1], h.dtype)


class GaussianPosterior(nnx.Module):
    """A diagonal Gaussian ``N(mu(h), exp(log_variance(h)))`` with prior ``N(0, I)`` (Kingma & Welling 2014),
    as in FSDM's variational context. With a key: a reparameterized sample; without: the mean."""

    def __init__(self, dim: int, *, rngs: nnx.Rngs):
        self.mean = nnx.Linear(dim, dim, rngs=rngs)
        self.log_variance = nnx.Linear(dim, dim, rngs=rngs)

    def __call__(
        self, h: Float[Array, "b *rest e"], key: PRNGKeyArray | None
    ) -> tuple[Float[Array, "b *rest e"], PerSet]:
        mu, log_var = self.mean(h), self.log_variance(h)
        kl = 0.5 * (jnp.square(mu) + jnp.exp(log_var) - 1.0 - log_var)
        if key is None:
            return mu, bits_per_dimension(kl)
        noise = jax.random.normal(key, mu.shape, mu.dtype)
        return mu + jnp.exp(0.5 * log_var) * noise, bits_per_dimension(kl)


class DiscretePosterior(nnx.Module):
    """A categorical posterior over a learned codebook (``codebook_size x e``) per latent vector, with a uniform
    prior. With a key: the Gumbel-softmax relaxation (Jang et al. 2017) at ``temperature``, a soft mixture of
    codes; without: the hard argmax code. The KL is counted per code (one latent dimension = one code)."""

    def __init__(self, dim: int, *, codebook_size: int, temperature: float, rngs: nnx.Rngs):
        self.logits = nnx.Linear(dim, codebook_size, rngs=rngs)
        self.codebook = nnx.Param(jax.random.normal(rngs.params(), (codebook_size, dim), jnp.float32))
        self.temperature = temperature

    def __call__(
        self, h: Float[Array, "b *rest e"], key: PRNGKeyArray | None
    ) -> tuple[Float[Array, "b *rest e"], PerSet]:
        logits = self.logits(h)  # "b *rest codebook_size"
        log_q = jax.nn.log_softmax(logits, axis=-1)
        kl = (jnp.exp(log_q) * (log_q + math.log(logits.shape[-1]))).sum(axis=-1)
        codebook = self.codebook[...]
        if key is None:
            return jnp.take(codebook, jnp.argmax(logits, axis=-1), axis=0), bits_per_dimension(kl)
        gumbel = jax.random.gumbel(key, logits.shape, logits.dtype)
        weights = jax.nn.softmax((logits + gumbel) / self.temperature, axis=-1)
        check_probabilities("conditioner posterior 'discrete'", "code weights", weights)
        return jnp.einsum("...k,ke->...e", weights, codebook), bits_per_dimension(kl)


def bits_per_dimension(kl: Float[Array, "b *dims"]) -> PerSet:
    """Per-set mean of a per-dimension KL in nats, in bits: ``sum / (number of dimensions * ln 2)``."""
    per_set = kl.reshape(kl.shape[0], -1)
    return per_set.sum(axis=1) / (per_set.shape[1] * math.log(2.0))
