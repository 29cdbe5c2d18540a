"""The guided-diffusion UNet (Dhariwal & Nichol 2021) with LDM-style cross-attention to conditioning tokens."""

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from fsdiff.denoisers.base import Denoiser
from fsdiff.errors import ConfigError
from fsdiff.nn import Attention, Mlp, TimestepEmbedder
from fsdiff.registry import register
from fsdiff.typing import Conditioning, DenoiserOutput, Images, PositiveInt, Probability, Timesteps

NORM_EPSILON = 1e-5
"""GroupNorm epsilon of guided-diffusion's ``GroupNorm32``."""


@register("denoiser", "unet")
class UNet(Denoiser):
    """The ADM UNet of Dhariwal & Nichol 2021 ("Diffusion Models Beat GANs on Image Synthesis"), channels-last NNX.

    Stem conv; per resolution level ``num_res_blocks`` residual blocks (GroupNorm, SiLU, conv, then scale-shift
    norm from the embedding, SiLU, dropout, zero-initialised conv), a strided-conv downsampling between levels; a
    middle of residual block, attention, residual block; the mirrored up path (``num_res_blocks + 1`` blocks per
    level on the concatenated skips, nearest-neighbour upsampling + conv); GroupNorm, SiLU and a zero-initialised
    conv to ``out_channels``. Level ``i`` has ``width * channel_mult[i]`` channels.

    The embedding is ``TimestepEmbedder(t) + Linear(cond.vector)`` (the vector, when present, takes the place of
    guided-diffusion's class embedding). A ``cond.spatial`` grid adds a per-position scale and shift to every
    residual block's modulation (SPADE, Park et al. 2019): a Linear of the grid, resized bilinearly to the block's
    resolution, so the context's layout lands where the image's is.

    ``attention_resolutions`` are *downsample factors*, not side lengths:
    ``1`` is the full resolution, ``2`` half of it, and so on (guided-diffusion's command line takes side lengths
    and converts them to these factors); a config thus stays valid across image sizes. The middle always attends.

    Differences from guided-diffusion: each attention block is the spatial transformer of latent diffusion
    (Rombach et al. 2022): self-attention, cross-attention to ``cond.tokens`` when present, and an MLP, behind a
    zero-initialised output projection, so a fresh model ignores the tokens and each block starts as the identity.
    No up/down-sampling residual blocks, no fp16, a fixed number of ``heads``.
    """

    accepts = frozenset({"vector", "tokens", "spatial"})

    def __init__(
        self,
        *,
        width: PositiveInt = 64,
        channel_mult: tuple[int, ...] = (1, 2, 2),
        num_res_blocks: PositiveInt = 2,
        attention_resolutions: tuple[int, ...] = (2, 4),
        heads: PositiveInt = 4,
        dropout: Probability = 0.0,
        groups: PositiveInt = 8,
        image_shape: tuple[int, int, int],
        context_dim: int,
        out_channels: int,
        rngs: nnx.Rngs,
    ):
        _validate(width, channel_mult, attention_resolutions, groups, heads, image_shape)
        emb_dim = 4 * width
        self.time_embed = TimestepEmbedder(emb_dim, frequency_dim=width, rngs=rngs)
        self.vector_embed = nnx.Linear(context_dim, emb_dim, rngs=rngs)

        def stage(in_ch: int, out_ch: int, attend: bool) -> Stage:
            res = ResBlock(
                in_ch, out_ch, emb_dim=emb_dim, context_dim=context_dim, groups=groups, dropout=dropout, rngs=rngs
            )
            if not attend:
                return Stage(res=res, transformer=None)
            transformer = SpatialTransformer(
                out_ch, heads=heads, context_dim=context_dim, groups=groups, dropout=dropout, rngs=rngs
            )
            return Stage(res=res, transformer=transformer)

        levels = len(channel_mult)
        channels = width
        skip_channels = [channels]
        self.stem = _conv3(image_shape[2], width, rngs=rngs)
        down, downsample = [], []
        for level, mult in enumerate(channel_mult):
            stages = []
            for _ in range(num_res_blocks):
                stages.append(stage(channels, width * mult, 2**level in attention_resolutions))
                channels = width * mult
                skip_channels.append(channels)
            down.append(nnx.List(stages))
            if level < levels - 1:
                downsample.append(_conv3(channels, channels, strides=2, rngs=rngs))
                skip_channels.append(channels)
        self.down, self.downsample = nnx.List(down), nnx.List(downsample)

        self.middle = nnx.List([stage(channels, channels, True), stage(channels, channels, False)])

        up, upsample = [], []
        for level in reversed(range(levels)):
            stages = []
            for _ in range(num_res_blocks + 1):
                skip = skip_channels.pop()
                stages.append(stage(channels + skip, width * channel_mult[level], 2**level in attention_resolutions))
                channels = width * channel_mult[level]
            up.append(nnx.List(stages))
            if level > 0:
                upsample.append(Upsample(channels, rngs=rngs))
        self.up, self.upsample = nnx.List(up), nnx.List(upsample)

        self.out_norm = nnx.GroupNorm(channels, num_groups=groups, epsilon=NORM_EPSILON, rngs=rngs)
        self.out_conv = _conv3(channels, out_channels, zero=True, rngs=rngs)

    def __call__(self, x: Images, t: Timesteps, cond: Conditioning) -> DenoiserOutput:
        emb = self.time_embed(t)
        if cond.vector is not None:
            emb = emb + self.vector_embed(cond.vector)
        h = self.stem(x)
        skips = [h]
        for level, stages in enumerate(self.down):
            for block in stages:
                h = block(h, emb, cond.tokens, cond.spatial)
                skips.append(h)
            if level < len(self.downsample):
                h = self.downsample[level](h)
                skips.append(h)
        for block in self.middle:
            h = block(h, emb, cond.tokens, cond.spatial)
        for level, stages in enumerate(self.up):  # deepest level first
            for block in stages:
                h = block(jnp.concatenate([h, skips.pop()], axis=-1), emb, cond.tokens, cond.spatial)
            if level < len(self.upsample):
                h = self.upsample[level](h)
        return self.out_conv(jax.nn.silu(self.out_norm(h)))


class ResBlock(nnx.Module):
    """guided-diffusion's ``ResBlock`` with ``use_scale_shift_norm``: ``out_norm(h) * (1 + scale) + shift`` with
    ``(scale, shift)`` a linear map of ``SiLU(emb)``, plus, given a ``spatial`` grid, a per-position linear map of
    it resized to the block's resolution; the second conv is zero-initialised, so a fresh block is its skip path
    (identity, or a 1x1 projection when the width changes)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        emb_dim: int,
        context_dim: int,
        groups: int,
        dropout: float,
        rngs: nnx.Rngs,
    ):
        self.in_norm = nnx.GroupNorm(in_channels, num_groups=groups, epsilon=NORM_EPSILON, rngs=rngs)
        self.in_conv = _conv3(in_channels, out_channels, rngs=rngs)
        self.emb_proj = nnx.Linear(emb_dim, 2 * out_channels, rngs=rngs)
        self.spatial_proj = nnx.Linear(context_dim, 2 * out_channels, rngs=rngs)
        self.out_norm = nnx.GroupNorm(out_channels, num_groups=groups, epsilon=NORM_EPSILON, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.out_conv = _conv3(out_channels, out_channels, zero=True, rngs=rngs)
        self.skip = nnx.Linear(in_channels, out_channels, rngs=rngs) if in_channels != out_channels else None

    def __call__(
        self,
        x: Float[Array, "b h w c_in"],
        emb: Float[Array, "b emb"],
        spatial: Float[Array, "b gh gw e"] | None = None,
    ) -> Float[Array, "b h w c_out"]:
        h = self.in_conv(jax.nn.silu(self.in_norm(x)))
        modulation = self.emb_proj(jax.nn.silu(emb))[:, None, None, :]  # "b 1 1 2c"
        if spatial is not None:
            # Linear, then resize: the same as resizing first (resizing is linear), on the smaller grid.
            projected = self.spatial_proj(spatial)
            b, hh, ww, _ = h.shape
            modulation = modulation + jax.image.resize(projected, (b, hh, ww, projected.shape[-1]), "linear")
        scale, shift = jnp.split(modulation, 2, axis=-1)
        h = self.out_norm(h) * (1.0 + scale) + shift
        h = self.out_conv(self.dropout(jax.nn.silu(h)))
        return (x if self.skip is None else self.skip(x)) + h


class SpatialTransformer(nnx.Module):
    """Latent diffusion's ``SpatialTransformer`` (Rombach et al. 2022) with one pre-norm transformer layer over the
    ``h * w`` positions: GroupNorm, linear projection in, self-attention, cross-attention to ``tokens "b p e"``
    when given (skipped otherwise), MLP, zero-initialised projection out, residual."""

    def __init__(self, channels: int, *, heads: int, context_dim: int, groups: int, dropout: float, rngs: nnx.Rngs):
        self.norm = nnx.GroupNorm(channels, num_groups=groups, epsilon=NORM_EPSILON, rngs=rngs)
        self.proj_in = nnx.Linear(channels, channels, rngs=rngs)
        self.self_norm = nnx.LayerNorm(channels, rngs=rngs)
        self.self_attention = Attention(channels, heads=heads, dropout=dropout, rngs=rngs)
        self.cross_norm = nnx.LayerNorm(channels, rngs=rngs)
        self.cross_attention = Attention(channels, heads=heads, context_dim=context_dim, dropout=dropout, rngs=rngs)
        self.mlp_norm = nnx.LayerNorm(channels, rngs=rngs)
        self.mlp = Mlp(channels, dropout=dropout, rngs=rngs)
        self.proj_out = nnx.Linear(channels, channels, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)

    def __call__(self, x: Float[Array, "b h w c"], tokens: Float[Array, "b p e"] | None) -> Float[Array, "b h w c"]:
        b, h, w, c = x.shape
        z = self.proj_in(self.norm(x)).reshape(b, h * w, c)  # "b (h w) c"
        z = z + self.self_attention(self.self_norm(z))
        if tokens is not None:
            z = z + self.cross_attention(self.cross_norm(z), tokens)
        z = z + self.mlp(self.mlp_norm(z))
        return x + self.proj_out(z).reshape(b, h, w, c)


class Stage(nnx.Module):
    """One step of a UNet level: a residual block, then a spatial transformer where the level attends."""

    def __init__(self, *, res: ResBlock, transformer: SpatialTransformer | None):
        self.res = res
        self.transformer = transformer

    def __call__(
        self,
        x: Float[Array, "b h w c_in"],
        emb: Float[Array, "b emb"],
        tokens: Float[Array, "b p e"] | None,
        spatial: Float[Array, "b gh gw e"] | None,
    ) -> Float[Array, "b h w c_out"]:
        h = self.res(x, emb, spatial)
        return h if self.transformer is None else self.transformer(h, tokens)


class Upsample(nnx.Module):
    """Nearest-neighbour 2x upsampling followed by a 3x3 conv (guided-diffusion's ``Upsample``)."""

    def __init__(self, channels: int, *, rngs: nnx.Rngs):
        self.conv = _conv3(channels, channels, rngs=rngs)

    def __call__(self, x: Float[Array, "b h w c"]) -> Float[Array, "b h2 w2 c"]:
        return self.conv(jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2))


def _conv3(in_channels: int, out_channels: int, *, strides: int = 1, zero: bool = False, rngs: nnx.Rngs) -> nnx.Conv:
    """A 3x3 conv with one pixel of padding (stride 2 halves an even side, as in guided-diffusion)."""
    init = {"kernel_init": nnx.initializers.zeros_init()} if zero else {}
    return nnx.Conv(
        in_channels, out_channels, kernel_size=(3, 3), strides=strides, padding=((1, 1), (1, 1)), rngs=rngs, **init
    )


def _validate(
    width: int,
    channel_mult: tuple[int, ...],
    attention_resolutions: tuple[int, ...],
    groups: int,
    heads: int,
    image_shape: tuple[int, int, int],
) -> None:
    """Raise one ``ConfigError`` listing every option that cannot build a UNet for ``image_shape``."""
    problems = []
    if not channel_mult or any(not _positive_int(m) for m in channel_mult):
        problems.append(("channel_mult", f"expected a non-empty list of ints > 0, got {list(channel_mult)}"))
    else:
        factor = 2 ** (len(channel_mult) - 1)
        h, w, _ = image_shape
        if h % factor or w % factor:
            problems.append(
                (
                    "channel_mult",
                    f"{len(channel_mult)} levels halve the image {len(channel_mult) - 1} times, so the image height "
                    f"and width must be divisible by {factor}; image_shape is {list(image_shape)}",
                )
            )
        factors = [2**level for level in range(len(channel_mult))]
        wrong = [r for r in attention_resolutions if r not in factors]
        if wrong:
            problems.append(
                (
                    "attention_resolutions",
                    f"expected downsample factors of the levels of channel_mult, i.e. among {factors}, got {wrong}",
                )
            )
    if width % groups:
        problems.append(("width", f"must be divisible by groups={groups} (GroupNorm), got {width}"))
    if width % heads:
        problems.append(("heads", f"must divide width={width} (every level's channels split into heads), got {heads}"))
    if problems:
        raise ConfigError(problems)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
