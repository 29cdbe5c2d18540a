"""Registered denoisers."""

from fsdiff.denoisers.base import Denoiser
from fsdiff.denoisers.dit import DiT
from fsdiff.denoisers.presets import PRESETS, dit_b, dit_s
from fsdiff.denoisers.unet import UNet

__all__ = ["PRESETS", "Denoiser", "DiT", "UNet", "dit_b", "dit_s"]
