"""Blocks shared by encoders and denoisers (they never import each other)."""

from fsdiff.nn.attention import Attention
from fsdiff.nn.mlp import Mlp
from fsdiff.nn.patch_embed import PatchEmbed, patch_grid
from fsdiff.nn.patches import patchify, sincos_positions, unpatchify
from fsdiff.nn.sets import element_mean, element_sum, others_index
from fsdiff.nn.summary_tokens import SummaryTokens
from fsdiff.nn.time import TimestepEmbedder, timestep_embedding
from fsdiff.nn.transformer import TransformerBlock

__all__ = [
    "Attention",
    "Mlp",
    "PatchEmbed",
    "SummaryTokens",
    "TimestepEmbedder",
    "TransformerBlock",
    "element_mean",
    "element_sum",
    "others_index",
    "patch_grid",
    "patchify",
    "sincos_positions",
    "timestep_embedding",
    "unpatchify",
]
