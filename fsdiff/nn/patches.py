"""Cutting images into non-overlapping patches and back, and fixed 2-D sin-cos positions."""

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


def patchify(x: Float[Array, "b h w c"], patch: int) -> Float[Array, "b p patch_dim"]:
    """``"b h w c" -> "b (h/patch * w/patch) (patch * patch * c)"``, row-major over patch positions."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // patch, patch, w // patch, patch, c)
    x = x.transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(tokens: Float[Array, "b p patch_dim"], patch: int, height: int, width: int) -> Float[Array, "b h w c"]:
    """Inverse of ``patchify`` for an image of ``height x width``."""
    b, _, patch_dim = tokens.shape
    c = patch_dim // (patch * patch)
    x = tokens.reshape(b, height // patch, width // patch, patch, patch, c)
    x = x.transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, height, width, c)


def sincos_positions(grid_h: int, grid_w: int, dim: int) -> Float[Array, "p d"]:
    """Fixed 2-D sin-cos position embedding (MAE/DiT), ``(grid_h * grid_w, dim)``, computed in float64 NumPy and
    cast once to float32. Half of ``dim`` encodes the row, half the column."""
    quarter = dim // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / max(quarter, 1))
    rows, cols = np.meshgrid(np.arange(grid_h, dtype=np.float64), np.arange(grid_w, dtype=np.float64), indexing="ij")
    parts = []
    for coord in (rows.reshape(-1), cols.reshape(-1)):
        angles = coord[:, None] * omega[None, :]
        parts += [np.sin(angles), np.cos(angles)]
    emb = np.concatenate(parts, axis=1)
    emb = np.pad(emb, ((0, 0), (0, dim - emb.shape[1])))
    return jnp.asarray(emb, jnp.float32)
