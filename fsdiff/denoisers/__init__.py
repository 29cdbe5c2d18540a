"""Registered denoisers."""

from fsdiff.denoisers.base import Denoiser
from fsdiff.denoisers.dit import DiT
from fsdiff.denoisers.sizes import DIT_B, DIT_S
from fsdiff.denoisers.unet import UNet

__all__ = ["DIT_B", "DIT_S", "Denoiser", "DiT", "UNet"]
