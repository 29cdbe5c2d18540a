"""Patch tokens of images: a linear embedding of non-overlapping patches plus their fixed positions."""

from flax import nnx
from jaxtyping import Array, Float

from fsdiff.errors import ConfigError
from fsdiff.nn.patches import patchify, sincos_positions


class PatchEmbed(nnx.Module):
    """``"b h w c" -> "b p d"``: a Linear on the flattened ``patch x patch`` patches (ViT, Dosovitskiy et al.
    2021) plus the fixed 2-D sin-cos position of each patch (MAE/DiT) instead of ViT's learned table, so the same
    position gets the same embedding in every image."""

    def __init__(self, image_shape: tuple[int, int, int], dim: int, *, patch: int, rngs: nnx.Rngs):
        self.grid = patch_grid(image_shape, patch)
        self.patch = patch
        self.proj = nnx.Linear(patch * patch * image_shape[-1], dim, rngs=rngs)

    def __call__(self, x: Float[Array, "b h w c"]) -> Float[Array, "b p d"]:
        tokens = self.proj(patchify(x, self.patch))
        return tokens + sincos_positions(*self.grid, tokens.shape[-1])[None]


def patch_grid(image_shape: tuple[int, int, int], patch: int) -> tuple[int, int]:
    """The ``(rows, cols)`` of patches of an image; a ``ConfigError`` on option ``patch`` (listing the patch sizes
    that fit) when the patch size does not divide the height and width."""
    h, w, _ = image_shape
    if h % patch or w % patch:
        fitting = [size for size in range(1, min(h, w) + 1) if h % size == 0 and w % size == 0]
        raise ConfigError(
            [("patch", f"patch={patch} does not divide the {h}x{w} images; patch sizes that do: {fitting}")]
        )
    return h // patch, w // patch
