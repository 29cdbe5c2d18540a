"""The ``dit`` denoiser: a Diffusion Transformer with adaLN-Zero blocks and gated cross-attention to a context."""

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from fsdiff.denoisers.base import Denoiser
from fsdiff.errors import ConfigError, ContractError
from fsdiff.nn import Attention, Mlp, TimestepEmbedder, patchify, sincos_positions, unpatchify
from fsdiff.registry import register
from fsdiff.typing import Conditioning, DenoiserOutput, Images, PositiveFloat, PositiveInt, Probability, Timesteps


@register("denoiser", "dit")
class DiT(Denoiser):
    """Diffusion Transformer (Peebles & Xie 2023, "Scalable Diffusion Models with Transformers"): linear patch
    embedding + fixed 2-D sin-cos positions, ``depth`` blocks with adaLN-Zero, a zero-initialised adaLN output
    layer, unpatchify to ``"b h w out_channels"``. A fresh model outputs zeros; with ``cross_gate`` 0 every block
    starts as identity.

    Conditioning: ``c = timestep embedding + Linear(vector)`` drives every adaLN modulation; a ``spatial`` grid,
    resized bilinearly to the patch grid, adds ``Linear(grid)`` to ``c`` patch by patch, so each patch is
    modulated by the context at its own position (per-token adaLN). Tokens are read by a cross-attention
    (LayerNorm, then attention from the image patches to the context) after each block's self-attention, in the
    blocks ``0, cross_every, 2 * cross_every, ...``, through a per-channel gate that starts at ``cross_gate``
    (0: a fresh model ignores the context; 1: the context trains from the first step). Differences from other
    ports: the time embedding stays in ``c`` in every mode (one FSDM port replaced it by the context in its token
    mode), the class embedding table is a Linear from the conditioning vector, and weights use the NNX default
    initialisers apart from the zero-inits.
    """

    accepts = frozenset({"vector", "tokens", "spatial"})

    def __init__(
        self,
        *,
        width: PositiveInt = 128,
        depth: PositiveInt = 4,
        heads: PositiveInt = 4,
        patch: PositiveInt = 2,
        mlp_ratio: PositiveFloat = 4.0,
        dropout: Probability = 0.0,
        cross_every: PositiveInt = 1,
        cross_gate: float = 0.0,
        image_shape: tuple[int, int, int],
        context_dim: int,
        out_channels: int,
        rngs: nnx.Rngs,
    ):
        h, w, c = image_shape
        if h % patch or w % patch:
            raise ConfigError(f"denoiser dit: option 'patch' ({patch}) must divide the image height and width {h}x{w}")
        if width % heads:
            raise ConfigError(f"denoiser dit: option 'width' ({width}) must be divisible by option 'heads' ({heads})")
        self.image_shape, self.patch, self.width, self.context_dim = (h, w, c), patch, width, context_dim
        self.patch_embed = nnx.Linear(patch * patch * c, width, rngs=rngs)
        self.time_embed = TimestepEmbedder(width, rngs=rngs)
        self.vector_embed = nnx.Linear(context_dim, width, rngs=rngs)
        self.spatial_embed = nnx.Linear(context_dim, width, rngs=rngs)
        self.blocks = nnx.List(
            [
                DiTBlock(
                    width,
                    heads=heads,
                    mlp_ratio=mlp_ratio,
                    dropout=dropout,
                    context_dim=context_dim if i % cross_every == 0 else None,
                    cross_gate=cross_gate,
                    rngs=rngs,
                )
                for i in range(depth)
            ]
        )
        self.final = FinalLayer(width, patch * patch * out_channels, rngs=rngs)

    def __call__(self, x: Images, t: Timesteps, cond: Conditioning) -> DenoiserOutput:
        self._check_shapes(x, cond)
        h, w, _ = self.image_shape
        # Fixed positions are not state: built in NumPy at trace time, a constant under jit.
        positions = sincos_positions(h // self.patch, w // self.patch, self.width)
        tokens = self.patch_embed(patchify(x, self.patch)) + positions[None]  # "b p width"
        c = self.time_embed(t)
        if cond.vector is not None:
            c = c + self.vector_embed(cond.vector)
        c = c[:, None]  # "b 1 width": the same modulation for every patch
        if cond.spatial is not None:
            grid = self.spatial_embed(cond.spatial)  # Linear, then resize: resizing is linear, the grid smaller
            b = grid.shape[0]
            grid = jax.image.resize(grid, (b, h // self.patch, w // self.patch, self.width), "linear")
            c = c + grid.reshape(b, -1, self.width)  # "b p width"
        for block in self.blocks:
            tokens = block(tokens, c, cond.tokens)
        return unpatchify(self.final(tokens, c), self.patch, h, w)  # "b h w out_channels"

    def _check_shapes(self, x: Images, cond: Conditioning) -> None:
        if x.shape[1:] != self.image_shape:
            raise ContractError(
                f"denoiser dit: built for images {self.image_shape} (h, w, c), got x of shape {x.shape[1:]}"
            )
        for name in ("vector", "tokens", "spatial"):
            value = getattr(cond, name)
            if value is not None and value.shape[-1] != self.context_dim:
                raise ContractError(
                    f"denoiser dit: conditioning {name} has width {value.shape[-1]}, but the denoiser was built "
                    f"with context_dim={self.context_dim}"
                )


class DiTBlock(nnx.Module):
    """One DiT block: adaLN-Zero self-attention, optional gated cross-attention to the context, adaLN-Zero MLP.

    The six modulations (shift, scale, gate for attention and MLP) come from ``c`` (one row per patch, or one
    broadcast to all) through a zero-initialised Linear, so the block starts as the identity.
    """

    def __init__(
        self,
        width: int,
        *,
        heads: int,
        mlp_ratio: float,
        dropout: float,
        context_dim: int | None,
        cross_gate: float,
        rngs: nnx.Rngs,
    ):
        self.norm1 = nnx.LayerNorm(width, use_bias=False, use_scale=False, rngs=rngs)
        self.attn = Attention(width, heads=heads, dropout=dropout, rngs=rngs)
        self.cross = (
            None
            if context_dim is None
            else GatedCrossAttention(
                width, heads=heads, context_dim=context_dim, gate=cross_gate, dropout=dropout, rngs=rngs
            )
        )
        self.norm2 = nnx.LayerNorm(width, use_bias=False, use_scale=False, rngs=rngs)
        self.mlp = Mlp(width, ratio=mlp_ratio, dropout=dropout, rngs=rngs)
        self.modulation = _zero_linear(width, 6 * width, rngs=rngs)

    def __call__(
        self,
        x: Float[Array, "b p width"],
        c: Float[Array, "b #p width"],
        context: Float[Array, "b k e"] | None = None,
    ) -> Float[Array, "b p width"]:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = jnp.split(
            self.modulation(jax.nn.silu(c)), 6, axis=-1
        )
        x = x + gate_msa * self.attn(self.norm1(x) * (1.0 + scale_msa) + shift_msa)
        if self.cross is not None and context is not None:
            x = self.cross(x, context)
        return x + gate_mlp * self.mlp(self.norm2(x) * (1.0 + scale_mlp) + shift_mlp)


class GatedCrossAttention(nnx.Module):
    """``x + gate * Attention(LayerNorm(x), context)`` with a per-channel gate initialised at ``gate`` (the tanh
    gate of Flamingo, Alayrac et al. 2022, without the tanh). At zero a fresh model ignores the context and the
    attention's weights get no gradient until the gate has grown, which Adam does by about one learning rate a
    step: thousands of steps before the context is used."""

    def __init__(self, width: int, *, heads: int, context_dim: int, gate: float, dropout: float, rngs: nnx.Rngs):
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.attn = Attention(width, heads=heads, context_dim=context_dim, dropout=dropout, rngs=rngs)
        self.gate = nnx.Param(jnp.full((width,), gate, jnp.float32))

    def __call__(self, x: Float[Array, "b p width"], context: Float[Array, "b k e"]) -> Float[Array, "b p width"]:
        return x + self.gate[...][None, None, :] * self.attn(self.norm(x), context)


class FinalLayer(nnx.Module):
    """DiT's output layer: adaLN (shift, scale from ``c``) then a Linear to the patch pixels, both zero-initialised."""

    def __init__(self, width: int, out_dim: int, *, rngs: nnx.Rngs):
        self.norm = nnx.LayerNorm(width, use_bias=False, use_scale=False, rngs=rngs)
        self.modulation = _zero_linear(width, 2 * width, rngs=rngs)
        self.linear = _zero_linear(width, out_dim, rngs=rngs)

    def __call__(self, x: Float[Array, "b p width"], c: Float[Array, "b #p width"]) -> Float[Array, "b p out"]:
        shift, scale = jnp.split(self.modulation(jax.nn.silu(c)), 2, axis=-1)
        return self.linear(self.norm(x) * (1.0 + scale) + shift)


def _zero_linear(in_dim: int, out_dim: int, *, rngs: nnx.Rngs) -> nnx.Linear:
    zeros = nnx.initializers.zeros_init()
    return nnx.Linear(in_dim, out_dim, kernel_init=zeros, bias_init=zeros, rngs=rngs)
