"""The ViT set encoder: the patches of every image of a set attend to each other in one transformer."""

from typing import Literal

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Bool, Float, Real

from fsdiff.encoders.base import Encoder
from fsdiff.errors import ConfigError, ContractError
from fsdiff.nn.patch_embed import PatchEmbed
from fsdiff.nn.sets import element_mean, element_sum
from fsdiff.nn.summary_tokens import SummaryTokens
from fsdiff.nn.transformer import TransformerBlock
from fsdiff.registry import register
from fsdiff.typing import ElementMask, PositiveFloat, PositiveInt, Probability, SetEncoding, SetImages, Timesteps

Pool = Literal["cls", "mean", "sum", "patch_mean", "none"]

SCORES_PER_CHUNK = 2**21
"""The one tuning knob of ``leave_one_out``: it runs the later set-level blocks on a few contexts at a time (a
``nnx.scan`` over chunks), about this many attention scores (``heads * s * s`` a context of ``s`` tokens) a chunk:
on CPU, all ``b * n`` long contexts at once thrash the caches and run slower than chunks (``benchmarks/RESULTS.md``:
1.3-1.4x on the training step of a 6-block ViT)."""


@register("encoder", "vit")
class ViTEncoder(Encoder):
    """A vision transformer over a whole set (the ViT encoder of FSDM, Giannone et al. 2022).

    Every image is cut into ``patch x patch`` patches, embedded linearly with a fixed sin-cos position per patch
    position; the ``n * p`` patch tokens of a set, after a CLS token (and with ``time_token`` a diffusion-time
    token, zeros when no ``t`` is given), go through one stack of pre-norm blocks, so patches of different images
    attend to each other.
    Positions are shared by all elements and there is no element-identity embedding: the encoder is invariant to
    the order of the set. Masked elements are removed from attention as keys and from every pooling.

    ``set_layers`` factorizes the stack: the first ``depth - set_layers`` blocks attend within each image only
    (computed once per image, without the summary tokens), the last ``set_layers`` across the set; ``None`` means
    all ``depth`` blocks attend across the set. ``leave_one_out`` shares the per-image work across the ``n``
    contexts of a set.

    ``pool`` names the summary of the set (``p`` patches per image; ``d = width``):

    - ``patch_mean``: tokens ``"b p d"``, token ``j`` the mean over present elements of the output at patch
      position ``j``; pooled the mean of these tokens;
    - ``none``: tokens ``"b (n p) d"``, every patch token, element-major, masked elements' tokens zero; pooled the
      mean over the present elements' patch tokens;
    - ``cls``: pooled the CLS output, tokens it as one token ``"b 1 d"``;
    - ``mean``: pooled the mean over the present elements' patch tokens, tokens it as one token;
    - ``sum``: pooled the sum over present elements of each element's mean patch token (a Deep Sets sum, it grows
      with the set), tokens it as one token.

    Unlike FSDM's code, the per-position mean averages the same position across images (FSDM's ``mean_patch``
    reshapes the element-major sequence so that it averages neighbouring patches of one image), and positions are
    fixed sin-cos rather than a learned table.
    """

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
        pool: Pool = "patch_mean",
        time_token: bool = False,
        set_layers: PositiveInt | None = None,
        image_shape: tuple[int, int, int],
        rngs: nnx.Rngs,
    ):
        if head_dim is None and width % heads:
            raise ConfigError([("heads", f"heads={heads} must divide width={width} (or set head_dim)")])
        if set_layers is not None and set_layers > depth:
            raise ConfigError([("set_layers", f"set_layers={set_layers} exceeds depth={depth}")])
        self.time_aware = time_token
        self.pool = pool
        self.patch_embed = PatchEmbed(image_shape, width, patch=patch, rngs=rngs)
        self.summary = SummaryTokens(width, time=time_token, rngs=rngs)
        blocks = [
            TransformerBlock(width, heads=heads, head_dim=head_dim, mlp_ratio=mlp_ratio, dropout=dropout, rngs=rngs)
            for _ in range(depth)
        ]
        split = depth - (depth if set_layers is None else set_layers)
        self.image_blocks = nnx.List(blocks[:split])
        self.set_blocks = nnx.List(blocks[split:])
        self.norm = nnx.LayerNorm(width, rngs=rngs)

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        return self._encode_set(self._embed_elements(jnp.asarray(x)), mask, t)

    def leave_one_out(self, x: SetImages, t: Real[Array, "b n"] | None = None) -> SetEncoding:
        """As ``Encoder.leave_one_out``; the patch embedding and the within-image blocks run once per image, and
        so does the per-token work of the first set-level block (its projections; its scores once per set, see
        ``TransformerBlock.leave_one_out``); only the later set-level blocks run per context, a few contexts at a
        time (``SCORES_PER_CHUNK``)."""
        b, n = x.shape[:2]
        if n < 2:
            raise ContractError(f"{type(self).__name__}: a leave-one-out context needs sets of n >= 2, got n={n}")
        tokens = self._embed_elements(jnp.asarray(x))
        p, d = tokens.shape[2:]
        summary = self.summary(b * n, None if t is None else t.reshape(b * n))
        k = summary.shape[1]
        first, *rest = self.set_blocks
        sequence = first.leave_one_out(summary, tokens)  # (b n) (k + (n-1) p) d
        if rest:
            s = sequence.shape[1]
            sequence = _in_chunks(rest, sequence, max(1, SCORES_PER_CHUNK // (rest[0].attention.heads * s * s)))
        sequence = self.norm(sequence)
        return self._pool(sequence[:, 0], sequence[:, k:].reshape(b * n, n - 1, p, d), None)

    def _embed_elements(self, x: SetImages) -> Float[Array, "b n p d"]:
        """Per-image work: patch tokens with positions, then the within-image blocks."""
        b, n = x.shape[:2]
        tokens = self.patch_embed(x.reshape(b * n, *x.shape[2:]))
        for block in self.image_blocks:
            tokens = block(tokens)
        return tokens.reshape(b, n, *tokens.shape[1:])

    def _encode_set(
        self, tokens: Float[Array, "b n p d"], mask: Bool[Array, "b n"] | None, t: Real[Array, "b"] | None
    ) -> SetEncoding:
        """Set-level work: summary tokens + all patch tokens through the set blocks, then the pooling."""
        b, n, p, d = tokens.shape
        summary = self.summary(b, t)
        k = summary.shape[1]
        sequence = jnp.concatenate([summary, tokens.reshape(b, n * p, d)], axis=1)
        attention_mask = None
        if mask is not None:
            keys = jnp.concatenate([jnp.ones((b, k), bool), jnp.repeat(mask, p, axis=1)], axis=1)
            attention_mask = jnp.broadcast_to(keys[:, None, :], (b, k + n * p, k + n * p))
        for block in self.set_blocks:
            sequence = block(sequence, attention_mask)
        sequence = self.norm(sequence)
        return self._pool(sequence[:, 0], sequence[:, k:].reshape(b, n, p, d), mask)

    def _pool(
        self, cls: Float[Array, "b d"], patches: Float[Array, "b n p d"], mask: Bool[Array, "b n"] | None
    ) -> SetEncoding:
        if self.pool == "none":
            b, n, p, d = patches.shape
            kept = patches if mask is None else jnp.where(mask[:, :, None, None], patches, 0.0)
            return SetEncoding(tokens=kept.reshape(b, n * p, d), pooled=element_mean(patches, mask).mean(axis=1))
        per_position = (element_sum if self.pool == "sum" else element_mean)(patches, mask)  # b p d
        if self.pool == "patch_mean":
            return SetEncoding(tokens=per_position, pooled=per_position.mean(axis=1))
        pooled = cls if self.pool == "cls" else per_position.mean(axis=1)
        return SetEncoding(tokens=pooled[:, None, :], pooled=pooled)


def _in_chunks(blocks: list[TransformerBlock], x: Float[Array, "c s d"], target: int) -> Float[Array, "c s d"]:
    """``blocks`` applied to a few sequences at a time: ``nnx.scan`` over equal chunks, the largest that divide the
    ``c`` sequences and hold at most ``target`` (it carries the blocks' state, so dropout draws fresh masks per
    chunk; ``lax.map`` with a ``batch_size`` would not)."""
    size = max(k for k in range(1, min(target, x.shape[0]) + 1) if x.shape[0] % k == 0)

    @nnx.scan(in_axes=(nnx.Carry, 0), out_axes=(nnx.Carry, 0))
    def step(blocks: list[TransformerBlock], chunk: Float[Array, "k s d"]):
        for block in blocks:
            chunk = block(chunk)
        return blocks, chunk

    return step(blocks, x.reshape(-1, size, *x.shape[1:]))[1].reshape(x.shape)
