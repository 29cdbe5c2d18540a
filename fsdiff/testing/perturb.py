"""Randomising a module's parameters before a dependence check.

adaLN-Zero (DiT), zero-initialised output convolutions (guided diffusion) and zero-initialised cross-attention
gates make a freshly initialised denoiser ignore its time and conditioning by design: each such block starts as
the identity, or the whole output starts at zero. A check asking "does the output change with ``t``?" would then
fail on a correct model, and pass on one whose wiring is broken behind a zero gate. The dependence checks therefore
add small Gaussian noise to every parameter first: they test the wiring, not the initialization.
"""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

NOISE = 0.1
"""Standard deviation of the noise added to every floating-point parameter."""


def perturbed(module: nnx.Module, seed: int = 0) -> nnx.Module:
    """A copy of ``module`` whose floating-point ``nnx.Param`` values carry ``N(0, NOISE²)`` noise; ``module`` is
    left unchanged. The noise is drawn with NumPy: nothing to compile."""
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    rng = np.random.default_rng(seed)

    def noisy(leaf: jax.Array) -> jax.Array:
        if not jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf
        return jnp.asarray(np.asarray(leaf) + NOISE * rng.standard_normal(leaf.shape), leaf.dtype)

    return nnx.merge(graphdef, jax.tree.map(noisy, params), rest)
