"""Value contracts: run-time checks of array values (not shapes), on only in debug mode.

``debug_checks()`` (a context manager) or the environment variable ``FSDIFF_DEBUG_CHECKS=1`` turns them on. The
shape contracts (``fsdiff.contracts``) then also check, at run time and under ``jit``:
  - data images (``SetImages`` / ``ContextImages`` arguments, ``FewShotDiffusion.bpd``'s ``x``) lie in ``[-1, 1]``;
  - every floating output of every component and model method is finite;
  - an element mask keeps at least one element of every set (a mask's dtype, boolean, is a shape contract);
  - probabilities (``check_probabilities``) lie in ``[0, 1]``.
A failure names the component (or model method) and the argument: ``encoder:vit: argument 'x' has values outside
[-1, 1] ...``.

The checks are ``jax.experimental.checkify`` checks. Eager calls raise at once; under ``jax.jit`` the jitted
function must be functionalized, e.g. ``chex.chexify(jax.jit(step), async_check=False)``: fsdiff's own jitted
calls (the training step, sampling, likelihoods, the evaluation) go through ``functionalized``, which does that in
debug mode. Whether they are on is
read when a function is traced, so the context manager clears JAX's compilation caches on entry and exit: nothing
traced inside keeps its checks outside, nothing traced before runs unchecked inside. Off (the default), no
operation is added to any program: the checks are free.
"""

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable, Iterator

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.experimental import checkify

ENV_VAR = "FSDIFF_DEBUG_CHECKS"

_override: list[bool] = []


@contextlib.contextmanager
def debug_checks(enabled: bool = True) -> Iterator[None]:
    """Within the block, value checks are on (``enabled=False``: off, whatever ``FSDIFF_DEBUG_CHECKS`` says)."""
    _override.append(enabled)
    jax.clear_caches()
    try:
        yield
    finally:
        _override.pop()
        jax.clear_caches()


def debug_checks_enabled() -> bool:
    """True inside ``debug_checks()`` or, outside any such block, when ``FSDIFF_DEBUG_CHECKS`` is set to a value
    other than ``0``, ``false``, ``no``, ``off`` or empty."""
    if _override:
        return _override[-1]
    return os.environ.get(ENV_VAR, "").strip().lower() not in ("", "0", "false", "no", "off")


def functionalized(fn: Callable) -> Callable:
    """``fn`` (a jitted function, or an ``nnx.jit`` one of a module first) as fsdiff calls it: in debug mode
    wrapped by ``chex.chexify``, so that the value checks traced inside it raise (one ``ValueError`` naming the
    first failed check); unchanged otherwise. Read at call time, like the checks themselves. For a module-first
    function the unjitted function is checked, the module passed as its state and every non-array argument as a
    constant (NNX refuses a module from outside the check's trace): slower, recompiled per call, and what the
    call would change in the module is not kept; use it for inference."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if not debug_checks_enabled():
            return fn(*args, **kwargs)
        if not (args and isinstance(args[0], nnx.Module)):
            return chex.chexify(fn, async_check=False)(*args, **kwargs)
        raw = getattr(fn, "__wrapped__", fn)
        graphdef, state = nnx.split(args[0])
        rest = list(args[1:])
        arrays = [i for i, a in enumerate(rest) if isinstance(a, jax.Array | np.ndarray)]

        def pure(state: nnx.State, *values: jax.Array):
            for i, value in zip(arrays, values, strict=True):
                rest[i] = value
            return raw(nnx.merge(graphdef, state), *rest, **kwargs)

        return chex.chexify(jax.jit(pure), async_check=False)(state, *(rest[i] for i in arrays))

    return call


def check_in_range(label: str, what: str, x: jax.Array, low: float = -1.0, high: float = 1.0) -> None:
    """``x`` (data images) lies in ``[low, high]`` (NaN is outside)."""
    if not debug_checks_enabled():
        return
    checkify.check(
        jnp.all((x >= low) & (x <= high)),
        f"{label}: {what} has values outside [{low:g}, {high:g}] (min {{lo}}, max {{hi}})",
        lo=jnp.min(x),
        hi=jnp.max(x),
    )


def check_finite(label: str, what: str, value: object) -> None:
    """Every floating array in ``value`` (an array, a dataclass such as ``SetEncoding``, a tuple or a dict) is
    finite; the message names the field that is not."""
    if not debug_checks_enabled():
        return
    for where, x in _floating_arrays(value, what):
        checkify.check(
            jnp.all(jnp.isfinite(x)),
            f"{label}: {where} has non-finite values ({{bad}} of {x.size})",
            bad=jnp.sum(~jnp.isfinite(x)),
        )


def check_mask(label: str, what: str, mask: jax.Array | None) -> None:
    """An element mask ``"b n"`` keeps at least one element of every set (an empty set has no encoding)."""
    if not debug_checks_enabled() or mask is None:
        return
    checkify.check(
        jnp.all(jnp.any(mask, axis=-1)),
        f"{label}: {what} masks out every element of {{empty}} set(s)",
        empty=jnp.sum(~jnp.any(mask, axis=-1)),
    )


def check_probabilities(label: str, what: str, p: jax.Array) -> None:
    """``p`` holds probabilities: every value in ``[0, 1]``."""
    check_in_range(label, what, p, 0.0, 1.0)


def _floating_arrays(value: object, what: str) -> Iterator[tuple[str, jax.Array]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _floating_arrays(getattr(value, field.name), f"{what} field '{field.name}'")
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _floating_arrays(item, f"{what}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _floating_arrays(item, f"{what}[{key!r}]")
    elif isinstance(value, jax.Array) and jnp.issubdtype(value.dtype, jnp.floating):
        yield what, value
