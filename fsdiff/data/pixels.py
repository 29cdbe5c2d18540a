"""Pixel conversions between stored images (uint8, 0..255) and model images (float32 in [-1, 1]), plus the
channel and size changes every loader shares."""

import numpy as np
from jaxtyping import Float, Float32, UInt8
from PIL import Image

from fsdiff.typing import PositiveInt

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)  # ITU-R BT.601, as Pillow's convert("L")


def to_float(images: UInt8[np.ndarray, "*batch h w c"]) -> Float32[np.ndarray, "*batch h w c"]:
    """Map 0..255 to [-1, 1]: the range the diffusion model works in."""
    return (images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).astype(np.float32)


def to_uint8(images: Float[np.ndarray, "*batch h w c"]) -> UInt8[np.ndarray, "*batch h w c"]:
    """Map [-1, 1] back to 0..255, clipping what a sampler put outside the range."""
    scaled = (np.clip(images.astype(np.float64), -1.0, 1.0) + 1.0) * 127.5
    return np.rint(scaled).astype(np.uint8)


def to_channels(images: UInt8[np.ndarray, "N h w c"], channels: int) -> UInt8[np.ndarray, "N h w _"]:
    """Convert between grayscale (1 channel) and RGB (3): gray is repeated, RGB is reduced by BT.601 luma."""
    have = images.shape[-1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if have == 3 and channels == 1:
        luma = np.einsum("nhwc,c->nhw", images.astype(np.float64), _LUMA)
        return np.rint(luma).astype(np.uint8)[..., None]
    raise ValueError(f"cannot convert {have} channels to {channels}; use 1 (grayscale) or 3 (RGB)")


def resize(images: UInt8[np.ndarray, "N h w c"], size: PositiveInt) -> UInt8[np.ndarray, "N {size} {size} c"]:
    """Resize uint8 images to ``size x size`` with Pillow's Lanczos filter (box filter when shrinking by an
    integer factor, where it is exact); images already that size come back unchanged."""
    n, h, w, c = images.shape
    if (h, w) == (size, size):
        return images
    method = Image.Resampling.BOX if h % size == 0 and w % size == 0 else Image.Resampling.LANCZOS
    out = np.empty((n, size, size, c), dtype=np.uint8)
    for i in range(n):
        for j in range(c):
            plane = Image.fromarray(images[i, :, :, j])
            out[i, :, :, j] = np.asarray(plane.resize((size, size), method))
    return out
