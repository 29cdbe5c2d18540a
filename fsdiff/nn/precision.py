"""Mixed precision: float32 parameters, bfloat16 compute in the layers that do the matmuls.

A model's ``compute_dtype`` (``FewShotDiffusion(compute_dtype=)``, the ``model.compute_dtype`` option) is applied
once, when the model is constructed: every Flax layer (``nnx.Linear``, ``nnx.Conv``, ``nnx.LayerNorm``,
``nnx.GroupNorm``, ``nnx.Embed`` ...) gets it as its ``dtype`` (Flax's compute dtype: inputs and parameters are cast
to it for the layer's operation), while its ``param_dtype`` stays float32, so the parameters, their gradients and
the optimizer state are float32. Flax's norm layers compute their statistics in float32 whatever the dtype. A
user's component built from Flax layers is covered with no change; one that computes with its own parameters
declares a ``dtype`` keyword and ``build_model`` passes the compute dtype.
"""

import contextlib

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
"""The ``model.compute_dtype`` names and their dtypes."""


def set_compute_dtype(module: nnx.Module, dtype: DTypeLike) -> None:
    """Make every Flax layer of ``module`` compute in ``dtype`` (its parameters keep their float32 ``param_dtype``).

    float32 leaves the layers as built (they compute in their inputs' dtype, float32 here)."""
    if jnp.dtype(dtype) == jnp.float32:
        return
    for _, node in nnx.iter_graph(module):
        if isinstance(node, nnx.Module) and hasattr(node, "param_dtype") and hasattr(node, "dtype"):
            node.dtype = dtype


def precision_scope(dtype: DTypeLike) -> contextlib.AbstractContextManager:
    """The dtype promotion a model of compute ``dtype`` runs under.

    Reduced precision mixes dtypes on purpose: the layers return ``dtype`` while the residual stream, the time
    embedding and the diffusion terms stay float32, and JAX's standard promotion makes each such sum float32 (a
    float32 residual stream and float32 loss reductions). A program under strict promotion would refuse those sums,
    so a reduced-precision model runs under standard promotion; float32 changes nothing.
    """
    if jnp.dtype(dtype) == jnp.float32:
        return contextlib.nullcontext()
    return jax.numpy_dtype_promotion("standard")
