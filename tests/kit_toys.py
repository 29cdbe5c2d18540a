"""Toy components for the conformance-kit tests: one good toy per kind, and broken variants that each violate
exactly the property one check protects (a subclass overriding one hook of a good toy)."""

import math

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Bool, Float, PRNGKeyArray

import fsdiff
from fsdiff.nn.sets import element_mean
from fsdiff.typing import (
    Conditioning,
    DenoiserOutput,
    ElementMask,
    Images,
    PositiveInt,
    SetEncoding,
    SetImages,
    Timesteps,
)

# --- encoders ----------------------------------------------------------------------------------------------------


class GoodEncoder(fsdiff.Encoder):
    """Masked mean over the set of tanh(Linear(flattened image)); the pooled vector is also the one token."""

    def __init__(self, *, width: PositiveInt = 8, image_shape: tuple[int, int, int], rngs: nnx.Rngs):
        h, w, c = image_shape
        self.proj = nnx.Linear(h * w * c, width, rngs=rngs)

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        pooled = self.pool(self.embed(x), mask)
        return SetEncoding(tokens=pooled[:, None, :], pooled=pooled)

    def embed(self, x: SetImages) -> Float[Array, "b n d"]:
        return jnp.tanh(self.proj(x.reshape(*x.shape[:2], -1)))

    def pool(self, features: Float[Array, "b n d"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b d"]:
        return element_mean(features, mask)


class PositionalOptionEncoder(GoodEncoder):
    """constructor_schema: ``width`` can be passed by position."""

    def __init__(self, width: PositiveInt = 8, *, image_shape: tuple[int, int, int], rngs: nnx.Rngs):
        super().__init__(width=width, image_shape=image_shape, rngs=rngs)


class BadDefaultEncoder(GoodEncoder):
    """config_round_trip: the default of ``width`` violates its own annotation."""

    def __init__(self, *, width: PositiveInt = 0, image_shape: tuple[int, int, int], rngs: nnx.Rngs):
        super().__init__(width=max(width, 1), image_shape=image_shape, rngs=rngs)


class LaxOptionEncoder(GoodEncoder):
    """bad_options: ``scale`` accepts any value, so a typo'd config value goes through."""

    def __init__(self, *, scale: object = 1.0, image_shape: tuple[int, int, int], rngs: nnx.Rngs):
        super().__init__(image_shape=image_shape, rngs=rngs)


class SquareOnlyEncoder(GoodEncoder):
    """shape_contract: reads the image width as its height, so non-square images break it."""

    def embed(self, x: SetImages) -> Float[Array, "b n d"]:
        b, n, h = x.shape[:3]
        return jnp.tanh(self.proj(x.reshape(b, n, h * h * x.shape[-1])))


class TracerSensitiveEncoder(GoodEncoder):
    """jit_consistency: adds 1 when traced."""

    def embed(self, x: SetImages) -> Float[Array, "b n d"]:
        features = super().embed(x)
        return features + 1.0 if isinstance(features, jax.core.Tracer) else features


class NaNEncoder(GoodEncoder):
    """finite: the square root of a negative number."""

    def pool(self, features: Float[Array, "b n d"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b d"]:
        return jnp.sqrt(super().pool(features, mask) - 2.0)


class BatchMixingEncoder(GoodEncoder):
    """batch_consistency: subtracts the batch mean (a batch norm in training mode)."""

    def pool(self, features: Float[Array, "b n d"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b d"]:
        pooled = super().pool(features, mask)
        return pooled - pooled.mean(axis=0, keepdims=True)


class NoisyEncoder(GoodEncoder):
    """determinism: draws noise from its own RNG stream at every call."""

    def __init__(self, *, width: PositiveInt = 8, image_shape: tuple[int, int, int], rngs: nnx.Rngs):
        super().__init__(width=width, image_shape=image_shape, rngs=rngs)
        self.rngs = rngs

    def pool(self, features: Float[Array, "b n d"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b d"]:
        pooled = super().pool(features, mask)
        return pooled + 0.1 * jax.random.normal(self.rngs.dropout(), pooled.shape)


class CountingEncoder(GoodEncoder):
    """no_retracing: counts its calls in a Python attribute, which changes the module's structure."""

    def __init__(self, *, width: PositiveInt = 8, image_shape: tuple[int, int, int], rngs: nnx.Rngs):
        super().__init__(width=width, image_shape=image_shape, rngs=rngs)
        self.calls = 0

    def pool(self, features: Float[Array, "b n d"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b d"]:
        self.calls += 1
        return super().pool(features, mask)


class ConstantEncoder(GoodEncoder):
    """input_dependence: ignores the images."""

    def embed(self, x: SetImages) -> Float[Array, "b n d"]:
        return jnp.zeros((*x.shape[:2], self.proj.out_features)) + self.proj.bias[...][None, None, :]


class OrderedEncoder(GoodEncoder):
    """permutation_invariance: weights each element by its position in the set."""

    def embed(self, x: SetImages) -> Float[Array, "b n d"]:
        position = jnp.arange(1, x.shape[1] + 1, dtype=jnp.float32)
        return super().embed(x) * position[None, :, None]


class MaskIgnoringEncoder(GoodEncoder):
    """masked_elements: averages every element, masked or not."""

    def pool(self, features: Float[Array, "b n d"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b d"]:
        return features.mean(axis=1)


class OrderedMaskIgnoringEncoder(OrderedEncoder):
    """Two defects at once: order-dependent and ignoring the mask."""

    def pool(self, features: Float[Array, "b n d"], mask: Bool[Array, "b n"] | None) -> Float[Array, "b d"]:
        return features.mean(axis=1)


class TimeBlindEncoder(GoodEncoder):
    """time_awareness: declares ``time_aware`` but never reads ``t``."""

    time_aware = True


class SelfIncludingEncoder(GoodEncoder):
    """leave_one_out: the "leave-one-out" context encodes the whole set, the element itself included."""

    def leave_one_out(self, x: SetImages, t: Float[Array, "b n"] | None = None) -> SetEncoding:
        n = x.shape[1]
        return jax.tree.map(lambda a: jnp.repeat(a, n, axis=0), self(x))


# --- conditioners ------------------------------------------------------------------------------------------------


class GoodConditioner(fsdiff.Conditioner):
    """A vector ``tanh(Linear(pooled))``; with ``variational``, a Gaussian sample around it given a key, with
    the KL of ``N(vector, 1)`` to ``N(0, 1)``; the null is a learned vector."""

    provides = frozenset({"vector"})

    def __init__(self, *, width: PositiveInt = 8, variational: bool = False, in_dim: int, rngs: nnx.Rngs):
        self.proj = nnx.Linear(in_dim, width, rngs=rngs)
        self.null_vector = nnx.Param(0.02 * jax.random.normal(rngs.params(), (width,)))
        self.variational = variational

    def __call__(self, encoding: SetEncoding, key: PRNGKeyArray | None = None) -> Conditioning:
        vector = jnp.tanh(self.proj(encoding.pooled))
        kl = 0.5 * jnp.square(vector).sum(axis=1) / math.log(2.0) if self.variational else jnp.zeros(vector.shape[:1])
        return Conditioning(vector=self.sample(vector, key), tokens=None, kl=kl)

    def sample(self, vector: Float[Array, "b e"], key: PRNGKeyArray | None) -> Float[Array, "b e"]:
        if not self.variational or key is None:
            return vector
        return vector + jax.random.normal(key, vector.shape)

    def null(self, encoding: SetEncoding) -> Conditioning:
        b = encoding.pooled.shape[0]
        vector = jnp.broadcast_to(self.null_vector[...], (b, self.null_vector.shape[0]))
        return Conditioning(vector=vector, tokens=None, kl=jnp.zeros((b,)))


class FixedKeyConditioner(GoodConditioner):
    """key_usage: variational, but samples with a fixed key whatever key it is given."""

    def sample(self, vector: Float[Array, "b e"], key: PRNGKeyArray | None) -> Float[Array, "b e"]:
        return super().sample(vector, None if key is None else jax.random.key(0))


class KeylessRandomConditioner(GoodConditioner):
    """determinism: random even without a key (draws from its own RNG stream)."""

    def __init__(self, *, width: PositiveInt = 8, variational: bool = False, in_dim: int, rngs: nnx.Rngs):
        super().__init__(width=width, variational=variational, in_dim=in_dim, rngs=rngs)
        self.rngs = rngs

    def sample(self, vector: Float[Array, "b e"], key: PRNGKeyArray | None) -> Float[Array, "b e"]:
        return vector + jax.random.normal(self.rngs.dropout() if key is None else key, vector.shape)


class SetDependentNullConditioner(GoodConditioner):
    """null_conditioning: the "null" is computed from the set."""

    def null(self, encoding: SetEncoding) -> Conditioning:
        return self(encoding)


# --- denoisers ---------------------------------------------------------------------------------------------------


class GoodDenoiser(fsdiff.Denoiser):
    """A per-pixel MLP shifted by an embedding of the timestep, the conditioning vector and the mean token."""

    accepts = frozenset({"vector", "tokens"})

    def __init__(
        self,
        *,
        hidden: PositiveInt = 8,
        image_shape: tuple[int, int, int],
        context_dim: int,
        out_channels: int,
        rngs: nnx.Rngs,
    ):
        self.inp = nnx.Linear(image_shape[-1], hidden, rngs=rngs)
        self.time = nnx.Linear(2, hidden, rngs=rngs)
        self.vector = nnx.Linear(context_dim, hidden, rngs=rngs)
        self.tokens = nnx.Linear(context_dim, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, out_channels, rngs=rngs)

    def __call__(self, x: Images, t: Timesteps, cond: Conditioning) -> DenoiserOutput:
        shift = self.time_features(t) + self.context(cond)
        return self.out(jnp.tanh(self.inp(x) + shift[:, None, None, :]))

    def time_features(self, t: Timesteps) -> Float[Array, "b hidden"]:
        angle = t.astype(jnp.float32) / 1000.0 * math.pi
        return self.time(jnp.stack([jnp.sin(angle), jnp.cos(angle)], axis=-1))

    def context(self, cond: Conditioning) -> Float[Array, "b hidden"]:
        shift = jnp.zeros((cond.kl.shape[0], self.out.in_features))
        if cond.vector is not None:
            shift = shift + self.vector(cond.vector)
        if cond.tokens is not None:
            shift = shift + self.tokens(cond.tokens).mean(axis=1)
        return shift


class ZeroGatedDenoiser(GoodDenoiser):
    """Correct, but the time embedding passes a zero-initialised gate (adaLN-Zero style): a fresh instance
    ignores ``t``; ``time_dependence`` still passes because it randomises the parameters first."""

    def __init__(
        self,
        *,
        hidden: PositiveInt = 8,
        image_shape: tuple[int, int, int],
        context_dim: int,
        out_channels: int,
        rngs: nnx.Rngs,
    ):
        super().__init__(
            hidden=hidden, image_shape=image_shape, context_dim=context_dim, out_channels=out_channels, rngs=rngs
        )
        self.gate = nnx.Param(jnp.zeros((hidden,)))

    def time_features(self, t: Timesteps) -> Float[Array, "b hidden"]:
        return super().time_features(t) * self.gate[...][None, :]


class WrongChannelsDenoiser(GoodDenoiser):
    """shape_contract: predicts the image channels, whatever ``out_channels`` (learned variance) asks for."""

    def __init__(
        self,
        *,
        hidden: PositiveInt = 8,
        image_shape: tuple[int, int, int],
        context_dim: int,
        out_channels: int,
        rngs: nnx.Rngs,
    ):
        super().__init__(
            hidden=hidden, image_shape=image_shape, context_dim=context_dim, out_channels=image_shape[-1], rngs=rngs
        )


class TimeBlindDenoiser(GoodDenoiser):
    """time_dependence: ignores the timestep."""

    def time_features(self, t: Timesteps) -> Float[Array, "b hidden"]:
        return jnp.zeros((t.shape[0], self.out.in_features))


class TokenBlindDenoiser(GoodDenoiser):
    """conditioning_dependence: accepts tokens but never reads them."""

    def context(self, cond: Conditioning) -> Float[Array, "b hidden"]:
        return super().context(Conditioning(vector=cond.vector, tokens=None, kl=cond.kl))
