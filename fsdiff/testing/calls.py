"""Calling a module the ways the checks need: eagerly; compiled, with the compilation shared by every check
that calls a module of the same structure on inputs of the same shapes; under ``nnx.jit`` with a trace counter;
on one item of a batch; and through ``jax.grad`` with respect to its parameters and floating-point inputs."""

import contextlib
import functools
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


@contextlib.contextmanager
def check_compilation() -> Iterator[None]:
    """How the kit compiles, for the duration: matmuls at full float32 precision, and XLA's optimization passes
    off (``jax_disable_most_optimizations``, restored afterwards).

    The checks compare outputs at float32 tolerances, which TF32 or bf16 matmul passes on an accelerator would
    exceed. The kit runs tiny modules a few times each, so optimization passes cost far more than they save (a
    small UNet initializes about four times faster without them); executables compiled meanwhile stay in JAX's
    caches, unoptimized, for the kit's tiny shapes.
    """
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    try:
        with jax.default_matmul_precision("float32"):
            yield
    finally:
        jax.config.update("jax_disable_most_optimizations", previous)


def call(module: nnx.Module, args: tuple) -> object:
    """``module(*args)``, eagerly: state updates (an RNG stream drawn at call time) persist in ``module``."""
    return module(*args)


def apply(module: nnx.Module, args: tuple, method: str = "__call__") -> object:
    """``module.<method>(*args)`` compiled with ``jax.jit`` on the split module. Modules of one structure share
    the compilation (the graph definition is a static argument), so the checks pay one compile per input shape,
    not one per check. Pure: state updates made by the call are dropped."""
    graphdef, state = nnx.split(module)
    return _apply(graphdef, method, state, args)


class TracedCall:
    """``module(*args)`` under ``nnx.jit``; ``traces`` counts how often Python ran the function (once per
    compilation: a second trace for an unchanged input shape is a retrace)."""

    def __init__(self):
        self.traces = 0

        def run(module: nnx.Module, args: tuple) -> object:
            self.traces += 1
            return module(*args)

        self._jitted = nnx.jit(run)

    def __call__(self, module: nnx.Module, args: tuple) -> object:
        return self._jitted(module, args)


def item(tree: object, index: int) -> object:
    """Item ``index`` of a batched pytree, keeping the batch axis; scalar leaves (keys) are kept whole."""
    return jax.tree.map(lambda leaf: leaf[index : index + 1] if jnp.ndim(leaf) else leaf, tree)


def replace_items(tree: object, other: object, indices: list[int]) -> object:
    """``tree`` with the batch items at ``indices`` taken from ``other`` (same structure and shapes)."""
    rows = np.asarray(indices, dtype=np.int32)
    return jax.tree.map(lambda a, b: a.at[rows].set(b[rows]) if jnp.ndim(a) else a, tree, other)


def gradients(module: nnx.Module, args: tuple, seed: int = 0) -> tuple[nnx.State, tuple]:
    """Gradients of a fixed random projection of the output, with respect to the parameters and to every
    floating-point input (returned in the structure of ``args``, other inputs replaced by None). A projection,
    not a sum: the sum of a normalized output has zero gradient by construction."""
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    leaves, treedef = jax.tree.flatten(args)
    floating = tuple(_is_float(leaf) for leaf in leaves)
    rng = np.random.default_rng(seed)
    outputs = jax.tree.leaves(apply(module, args))
    weights = [jnp.asarray(rng.standard_normal(out.shape, np.float32)) for out in outputs]
    floats = [leaf for leaf, is_float in zip(leaves, floating, strict=True) if is_float]
    others = [leaf for leaf, is_float in zip(leaves, floating, strict=True) if not is_float]
    param_grads, input_grads = _gradients(graphdef, treedef, floating, params, rest, floats, others, weights)
    grads = iter(input_grads)
    return param_grads, jax.tree.unflatten(treedef, [next(grads) if f else None for f in floating])


@functools.partial(jax.jit, static_argnums=(0, 1))
def _apply(graphdef: nnx.GraphDef, method: str, state: nnx.State, args: tuple) -> object:
    return getattr(nnx.merge(graphdef, state), method)(*args)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _gradients(
    graphdef: nnx.GraphDef,
    treedef: jax.tree_util.PyTreeDef,
    floating: tuple[bool, ...],
    params: nnx.State,
    rest: nnx.State,
    floats: list,
    others: list,
    weights: list,
) -> tuple[nnx.State, list]:
    def loss(params: nnx.State, floats: list) -> jax.Array:
        values, fixed = iter(floats), iter(others)
        leaves = [next(values) if f else next(fixed) for f in floating]
        out = nnx.merge(graphdef, params, rest)(*jax.tree.unflatten(treedef, leaves))
        return sum(((leaf * w).sum() for leaf, w in zip(jax.tree.leaves(out), weights, strict=True)), jnp.zeros(()))

    return jax.grad(loss, argnums=(0, 1))(params, floats)


def _is_float(leaf: object) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jnp.floating)
