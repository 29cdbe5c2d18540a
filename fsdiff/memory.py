"""Will a model fit? Its memory estimated from shapes alone, before anything is allocated.

A config such as ``encoder.width: 1000000000`` or ``set_size: 1000000000`` would otherwise abort the interpreter
inside XLA (or ask NumPy for exabytes) while building. ``build_model`` builds the model abstractly first
(``nnx.eval_shape``: shapes and dtypes, no buffers); ``check_fits`` counts the bytes of its parameters per
component and adds the activations of a loss on one set (the sum of every intermediate value of its traced
program: an upper bound of what a forward pass keeps alive). More than the memory of the device is a
``ConfigError`` with the estimate.
"""

import contextlib
import os
from collections.abc import Iterator

import jax
import jax.extend
import numpy as np
from flax import nnx

from fsdiff.errors import ConfigError

PARTS = ("encoder", "conditioner", "denoiser")


def check_fits(model: nnx.Module, activations: int, limit: int | None = None) -> None:
    """Raise ``ConfigError`` when the abstract ``model`` (from ``nnx.eval_shape``), with ``activations`` bytes for
    one set (``activation_bytes``), cannot fit in ``limit`` bytes (default: ``device_memory()``)."""
    limit = device_memory() if limit is None else limit
    params = {part: _bytes(nnx.state(getattr(model, part), nnx.Param)) for part in PARTS}
    total = sum(params.values()) + activations
    if total <= limit:
        return
    largest = max(params, key=params.get)
    path = f"model.{largest}" if params[largest] > limit else "model"
    each = ", ".join(f"{part} {_human(size)}" for part, size in params.items())
    raise ConfigError(
        [
            (
                path,
                f"too large: an estimated {_human(total)} ({total} bytes) = parameters ({each}) + "
                f"{_human(activations)} of activations for one set, but the device has {_human(limit)}",
            )
        ]
    )


def check_batch(set_size: int, image_shape: tuple[int, ...], limit: int | None = None) -> None:
    """Raise ``ConfigError`` when one set of ``set_size`` float32 images alone exceeds ``limit`` bytes: checked
    first, as tracing a model on such a set may already build index tables of its size."""
    limit = device_memory() if limit is None else limit
    size = int(np.prod([set_size, *image_shape], dtype=object)) * 4
    if size > limit:
        raise ConfigError(
            [
                (
                    "model.set_size",
                    f"too large: one set of {set_size} images of shape {list(image_shape)} is an estimated "
                    f"{_human(size)} ({size} bytes) of float32, but the device has {_human(limit)}",
                )
            ]
        )


def check_parameters(component: nnx.Module, path: str, limit: int | None = None) -> None:
    """Raise ``ConfigError`` when the parameters of one abstract ``component`` alone exceed ``limit`` bytes: checked
    right after its constructor, before a forward pass is traced (tracing may build NumPy constants sized by its
    options, e.g. sin-cos position tables of a huge width)."""
    limit = device_memory() if limit is None else limit
    size = _bytes(nnx.state(component, nnx.Param))
    if size > limit:
        raise ConfigError(
            [
                (
                    path,
                    f"too large: an estimated {_human(size)} ({size} bytes) of parameters, but the "
                    f"device has {_human(limit)}",
                )
            ]
        )


@contextlib.contextmanager
def untraceable_is_too_large() -> Iterator[None]:
    """A ``MemoryError`` while tracing (NumPy index tables sized by the config, e.g. leave-one-out over a huge
    set) becomes a ``ConfigError``."""
    try:
        yield
    except MemoryError as exc:
        raise ConfigError([("model", f"too large: its shapes cannot even be traced on this machine: {exc}")]) from exc


def activation_bytes(model: nnx.Module) -> int:
    """The bytes of every intermediate value of ``model.loss`` on one set of ``model.set_size`` images, traced
    with abstract inputs (nothing is allocated)."""
    graphdef, state = nnx.split(model)
    batch = jax.ShapeDtypeStruct((1, model.set_size, *model.image_shape), np.float32)
    jaxpr = jax.make_jaxpr(lambda s, x: nnx.merge(graphdef, s).loss(x, jax.random.key(0)))(state, batch)
    return _jaxpr_bytes(jaxpr.jaxpr)


def device_memory() -> int:
    """Bytes of memory of this process's first JAX device (its allocator's limit), or of the host when it reports
    none. (In a multi-host run ``jax.devices()[0]`` may be another process's device, which reports nothing.)"""
    stats = jax.local_devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _jaxpr_bytes(jaxpr) -> int:
    total = sum(_aval_bytes(var.aval) for var in jaxpr.invars)
    for eqn in jaxpr.eqns:
        total += sum(_aval_bytes(var.aval) for var in eqn.outvars)
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            total += _jaxpr_bytes(sub)
    return total


def _aval_bytes(aval) -> int:
    shape, dtype = getattr(aval, "shape", None), getattr(aval, "dtype", None)
    if shape is None or dtype is None or not hasattr(dtype, "itemsize"):
        return 0
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def _bytes(tree) -> int:
    return sum(_aval_bytes(leaf) for leaf in jax.tree.leaves(tree))


def _human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if size < 1024 or unit == "EiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024
    raise AssertionError("unreachable")
