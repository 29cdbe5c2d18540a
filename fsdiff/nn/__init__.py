"""Blocks shared by encoders and denoisers (they never import each other)."""

from fsdiff.nn.attention import Attention
from fsdiff.nn.mlp import Mlp
from fsdiff.nn.modulation import modulate
from fsdiff.nn.patches import patchify, sincos_positions, unpatchify
from fsdiff.nn.time import TimestepEmbedder, timestep_embedding

__all__ = [
    "Attention",
    "Mlp",
    "TimestepEmbedder",
    "modulate",
    "patchify",
    "sincos_positions",
    "timestep_embedding",
    "unpatchify",
]
