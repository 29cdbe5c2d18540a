"""Helpers shared by the encoder tests."""

from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
from flax import nnx

import fsdiff
from fsdiff.nn.transformer import TransformerBlock


def abstract_encoding(
    build: Callable[[], fsdiff.Encoder], x_shape: tuple[int, ...], masked: bool = False
) -> fsdiff.SetEncoding:
    """The output shapes of ``build()`` on a ``float32[x_shape]`` set (with an element mask if ``masked``), found
    with ``jax.eval_shape``: no parameter is initialized and no FLOP is spent."""
    graphdef, state = nnx.split(nnx.eval_shape(build))
    x = jax.ShapeDtypeStruct(x_shape, jnp.float32)
    mask = jax.ShapeDtypeStruct(x_shape[:2], jnp.bool_) if masked else None
    return jax.eval_shape(lambda s, x, m: nnx.merge(graphdef, s)(x, m), state, x, mask)


def zero_residual_branches(blocks: Iterable[TransformerBlock]) -> None:
    """Zero the attention and MLP output projections of each block, which makes every block the identity."""
    for block in blocks:
        for layer in (block.attention.out, block.mlp.down):
            layer.kernel[...] = jnp.zeros_like(layer.kernel[...])
            layer.bias[...] = jnp.zeros_like(layer.bias[...])
