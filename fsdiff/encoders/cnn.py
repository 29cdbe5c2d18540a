"""A convolutional set encoder: each image encoded alone, the set summarized by the mean of the features."""

from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from fsdiff.encoders.base import Encoder
from fsdiff.errors import ConfigError
from fsdiff.nn.attention import Attention
from fsdiff.nn.sets import element_mean
from fsdiff.registry import register
from fsdiff.typing import ElementMask, PositiveInt, Probability, SetEncoding, SetImages, Timesteps


@register("encoder", "cnn")
class CNNEncoder(Encoder):
    """A per-image residual CNN whose features are averaged over the set: the Deep Sets / neural statistician form
    (Zaheer et al. 2017; Edwards & Storkey 2017) of FSDM's convolutional encoders (Giannone et al. 2022).

    Each image goes through a 3x3 stem conv to ``channels`` channels, then ``depth`` stages of ``blocks`` residual
    blocks (GroupNorm, SiLU, 3x3 conv, twice) each followed by a stride-2 conv that doubles the channels, ``blocks``
    more residual blocks, and GroupNorm, SiLU and a Linear to ``width``. The element's tokens are that final feature
    map flattened (``p = ceil(h / 2**depth) * ceil(w / 2**depth)``), its vector the mean of the tokens (``mean``)
    or a learned query attending to them (``attention``). The set's encoding is ``finish`` (a LayerNorm each) of the
    mean of tokens and vectors over the present elements; the encoder is ``decomposable``, so a leave-one-out
    context costs one pass over the images and a subtraction (``Encoder.leave_one_out``).
    """

    decomposable = True

    def __init__(
        self,
        *,
        width: PositiveInt = 128,
        channels: PositiveInt = 32,
        depth: PositiveInt = 2,
        blocks: PositiveInt = 1,
        groups: PositiveInt = 8,
        pool: Literal["attention", "mean"] = "attention",
        heads: PositiveInt = 4,
        dropout: Probability = 0.0,
        image_shape: tuple[int, int, int],
        rngs: nnx.Rngs,
    ):
        if channels % groups:
            raise ConfigError([("groups", f"groups={groups} must divide channels={channels}")])
        if pool == "attention" and width % heads:
            raise ConfigError([("heads", f"heads={heads} must divide width={width}")])
        self.stem = nnx.Conv(image_shape[-1], channels, (3, 3), rngs=rngs)
        layers = []
        for _ in range(depth):
            layers += [ResidualBlock(channels, groups=groups, dropout=dropout, rngs=rngs) for _ in range(blocks)]
            layers.append(nnx.Conv(channels, 2 * channels, (3, 3), strides=2, rngs=rngs))
            channels *= 2
        layers += [ResidualBlock(channels, groups=groups, dropout=dropout, rngs=rngs) for _ in range(blocks)]
        self.layers = nnx.List(layers)
        self.out_norm = nnx.GroupNorm(channels, num_groups=groups, rngs=rngs)
        self.project = nnx.Linear(channels, width, rngs=rngs)
        self.attention_pool = AttentionPool(width, heads=heads, rngs=rngs) if pool == "attention" else None
        self.token_norm = nnx.LayerNorm(width, rngs=rngs)
        self.pooled_norm = nnx.LayerNorm(width, rngs=rngs)

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        features = self.element_features(x)
        return self.finish(
            SetEncoding(tokens=element_mean(features.tokens, mask), pooled=element_mean(features.pooled, mask))
        )

    def element_features(self, x: SetImages) -> SetEncoding:
        """Per-element features, tokens ``"b n p d"`` and pooled ``"b n d"``."""
        x = jnp.asarray(x)
        b, n = x.shape[:2]
        h = self.stem(x.reshape(b * n, *x.shape[2:]))
        for layer in self.layers:
            h = layer(h)
        h = self.project(jax.nn.silu(self.out_norm(h)))
        tokens = h.reshape(b * n, -1, h.shape[-1])  # (b n) p d
        pooled = tokens.mean(axis=1) if self.attention_pool is None else self.attention_pool(tokens)
        return SetEncoding(tokens=tokens.reshape(b, n, *tokens.shape[1:]), pooled=pooled.reshape(b, n, -1))

    def finish(self, features: SetEncoding) -> SetEncoding:
        """The encoding from the mean of ``element_features`` over the present elements: a LayerNorm each."""
        return SetEncoding(tokens=self.token_norm(features.tokens), pooled=self.pooled_norm(features.pooled))


class ResidualBlock(nnx.Module):
    """``x + conv(SiLU(GN(conv(SiLU(GN(x))))))``, 3x3 convs at constant width, dropout before the second conv."""

    def __init__(self, channels: int, *, groups: int, dropout: float, rngs: nnx.Rngs):
        self.norm1 = nnx.GroupNorm(channels, num_groups=groups, rngs=rngs)
        self.conv1 = nnx.Conv(channels, channels, (3, 3), rngs=rngs)
        self.norm2 = nnx.GroupNorm(channels, num_groups=groups, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.conv2 = nnx.Conv(channels, channels, (3, 3), rngs=rngs)

    def __call__(self, x: Float[Array, "b h w c"]) -> Float[Array, "b h w c"]:
        h = self.conv1(jax.nn.silu(self.norm1(x)))
        return x + self.conv2(self.dropout(jax.nn.silu(self.norm2(h))))


class AttentionPool(nnx.Module):
    """``"b p d" -> "b d"``: one learned query cross-attending to the tokens (attention pooling, as in CLIP's
    ResNet head, without its positional embedding)."""

    def __init__(self, dim: int, *, heads: int, rngs: nnx.Rngs):
        self.query = nnx.Param(0.02 * jax.random.normal(rngs.params(), (1, 1, dim), jnp.float32))
        self.attention = Attention(dim, heads=heads, rngs=rngs)

    def __call__(self, tokens: Float[Array, "b p d"]) -> Float[Array, "b d"]:
        query = jnp.broadcast_to(self.query[...], (tokens.shape[0], 1, tokens.shape[-1]))
        return self.attention(query, context=tokens)[:, 0]
