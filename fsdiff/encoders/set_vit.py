"""sViT: a set of images read as one image with the set stacked along channels (FSDM's set encoder)."""

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float, Real

from fsdiff.encoders.base import Encoder
from fsdiff.errors import ConfigError, ContractError
from fsdiff.nn.patch_embed import patch_grid
from fsdiff.nn.patches import patchify, sincos_positions
from fsdiff.nn.sets import element_mean
from fsdiff.nn.summary_tokens import SummaryTokens
from fsdiff.nn.transformer import TransformerBlock
from fsdiff.registry import register
from fsdiff.typing import ElementMask, PositiveFloat, PositiveInt, Probability, SetEncoding, SetImages, Timesteps


@register("encoder", "set_vit")
class SetViTEncoder(Encoder):
    """sViT (Giannone et al. 2022, FSDM), built on ViT for small-size data sets (Lee et al. 2021): one token per
    patch position for the whole set, and locality self-attention (learned temperature, no attention to oneself).

    Tokenization is shifted-patch tokenization (SPT): each image is concatenated along channels with its four
    diagonal shifts by half a patch, cut into patches, and each element's patch vector is layer-normed; the
    ``stacked`` tokenizer then applies the Linear of the set stacked along channels. That Linear is a sum of one
    linear map per element, which makes the element mask exact: a masked element contributes nothing, and the sum is
    rescaled by ``set_size / present`` so fewer elements keep the scale of a full set. The ``per_sample`` tokenizer
    embeds each element with one shared map and averages per patch position over the present elements: the
    encoder is then invariant to the set's order and accepts any set size.

    With ``stacked``, element ``i`` of every set has its own weights: the encoder takes exactly ``set_size``
    elements (``fixed_set_size``; mask the absent ones) and depends on their order. ``pool``: the pooled vector is
    the CLS output (``cls``) or the mean of the patch tokens (``mean``); tokens are the ``"b p d"`` patch tokens.
    ``time_token`` adds a diffusion-time token (zeros without ``t``), as FSDM's sViT conditions on ``t``.

    Unlike FSDM's code, SPT shifts are applied (FSDM stacks the set but leaves them out), the layer norm is taken per
    element rather than over the stacked vector (which would tie the elements together and break masking), and
    positions are fixed sin-cos. ``leave_one_out`` tokenizes each set once and subtracts each element's share.
    """

    fixed_set_size = True
    permutation_invariant = False

    def __init__(
        self,
        *,
        width: PositiveInt = 128,
        depth: PositiveInt = 4,
        heads: PositiveInt = 4,
        head_dim: PositiveInt | None = None,
        patch: PositiveInt = 4,
        mlp_ratio: PositiveFloat = 4.0,
        dropout: Probability = 0.0,
        pool: Literal["cls", "mean"] = "cls",
        tokenizer: Literal["stacked", "per_sample"] = "stacked",
        time_token: bool = False,
        image_shape: tuple[int, int, int],
        set_size: int,
        rngs: nnx.Rngs,
    ):
        if head_dim is None and width % heads:
            raise ConfigError([("heads", f"heads={heads} must divide width={width} (or set head_dim)")])
        stacked = tokenizer == "stacked"
        self.fixed_set_size = stacked
        self.permutation_invariant = not stacked
        self.time_aware = time_token
        self.set_size = set_size
        self.pool = pool
        self.patch = patch
        self.grid = patch_grid(image_shape, patch)
        features = patch * patch * 5 * image_shape[-1]
        self.patch_norm = nnx.LayerNorm(features, rngs=rngs)
        # stacked: one (features, width) block per element, together the Linear of the channel-stacked patches, which
        # sums the elements' contributions (set_size times their mean); per_sample: one shared block, the mean.
        self.scale = float(set_size) if stacked else 1.0
        shape = (set_size if stacked else 1, features, width)
        self.kernel = nnx.Param(jax.nn.initializers.lecun_normal()(rngs.params(), shape, jnp.float32))
        self.bias = nnx.Param(jnp.zeros((width,), jnp.float32))
        self.summary = SummaryTokens(width, time=time_token, rngs=rngs)
        self.blocks = nnx.List(
            [
                TransformerBlock(
                    width,
                    heads=heads,
                    head_dim=head_dim,
                    mlp_ratio=mlp_ratio,
                    learned_temperature=True,
                    dropout=dropout,
                    rngs=rngs,
                )
                for _ in range(depth)
            ]
        )
        self.norm = nnx.LayerNorm(width, rngs=rngs)

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        x = jnp.asarray(x)
        self._check_set_size(x.shape[1])
        return self._transform(self.scale * element_mean(self._contributions(x), mask), t)

    def leave_one_out(self, x: SetImages, t: Real[Array, "b n"] | None = None) -> SetEncoding:
        """As ``Encoder.leave_one_out``; each set is tokenized once and each context's tokens are the set's sum of
        element contributions minus the left-out element's, rescaled to the ``n - 1`` present elements."""
        x = jnp.asarray(x)
        b, n = x.shape[:2]
        if n < 2:
            raise ContractError(f"{type(self).__name__}: a leave-one-out context needs sets of n >= 2, got n={n}")
        self._check_set_size(n)
        contributions = self._contributions(x)
        others = (contributions.sum(axis=1, keepdims=True) - contributions) / (n - 1)  # b n p d
        tokens = (self.scale * others).reshape(b * n, *others.shape[2:])
        return self._transform(tokens, None if t is None else t.reshape(b * n))

    def _check_set_size(self, n: int) -> None:
        if self.fixed_set_size and n != self.set_size:
            raise ContractError(
                f"{type(self).__name__}: the stacked tokenizer takes sets of exactly set_size={self.set_size} "
                f"elements, got n={n}; pad the set and mask the absent elements"
            )

    def _contributions(self, x: SetImages) -> Float[Array, "b n p d"]:
        """Each element's (bias-free) share of the patch tokens: its layer-normed SPT patches times its weights."""
        b, n = x.shape[:2]
        patches = shifted_patches(x.reshape(b * n, *x.shape[2:]), self.patch)
        patches = self.patch_norm(patches).reshape(b, n, *patches.shape[1:])
        kernel = jnp.broadcast_to(self.kernel[...], (n, *self.kernel.shape[1:]))
        return jnp.einsum("bnpf,nfd->bnpd", patches, kernel)

    def _transform(self, tokens: Float[Array, "b p d"], t: Real[Array, "b"] | None) -> SetEncoding:
        """The embedding's bias and the positions, summary tokens, the LSA blocks and the pooling."""
        b, p, d = tokens.shape
        tokens = tokens + (self.bias[...][None, :] + sincos_positions(*self.grid, d))[None]
        summary = self.summary(b, t)
        k = summary.shape[1]
        sequence = jnp.concatenate([summary, tokens], axis=1)
        not_self = jnp.broadcast_to(jnp.asarray(~np.eye(k + p, dtype=bool))[None], (b, k + p, k + p))
        for block in self.blocks:
            sequence = block(sequence, not_self)
        sequence = self.norm(sequence)
        patches = sequence[:, k:]
        return SetEncoding(tokens=patches, pooled=sequence[:, 0] if self.pool == "cls" else patches.mean(axis=1))


def shifted_patches(x: Float[Array, "b h w c"], patch: int) -> Float[Array, "b p f"]:
    """Shifted-patch tokenization's patches (Lee et al. 2021): the image and its four diagonal shifts by half a
    patch (at least one pixel; zeros fill in) concatenated along channels, then cut into patches,
    ``f = patch * patch * 5c``."""
    h, w = x.shape[1:3]
    s = max(patch // 2, 1)
    padded = jnp.pad(x, ((0, 0), (s, s), (s, s), (0, 0)))
    shifts = [padded[:, s - dy : s - dy + h, s - dx : s - dx + w] for dy, dx in ((s, s), (s, -s), (-s, s), (-s, -s))]
    return patchify(jnp.concatenate([x, *shifts], axis=-1), patch)
