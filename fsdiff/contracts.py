"""Shape contracts: a component's annotated ``__call__`` is checked with jaxtyping + beartype.

The contract is attached once, where the class is defined (``fsdiff.component.Contracted``, the root of every
component kind), never at registration. The check runs where Python runs: on every eager call, and once per trace
under ``jax.jit`` (a jitted step pays nothing). Arguments and the returned value (including the fields of a
``SetEncoding``/``Conditioning``) share one jaxtyping dimension memo, so ``b`` in the input must equal ``b`` in the
output. A violation raises ``ContractError`` naming the component (``kind:name``), the argument, the expected and
the actual shape/dtype.

In debug mode (``fsdiff.debug``) the same wrapper adds value checks: data images in ``[-1, 1]``, masks that keep an
element of every set, finite outputs. Off, it adds no operation to a traced program.
"""

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from beartype.door import is_bearable
from jaxtyping import AbstractArray, jaxtyped

from fsdiff.debug import check_finite, check_in_range, check_mask, debug_checks_enabled
from fsdiff.errors import ContractError
from fsdiff.typing import ContextImages, ElementMask, SetImages, type_name

_CONTRACT_ATTR = "__fsdiff_contract__"


def contract(fn, label: str | Callable[[object], str], *, asarray: bool = False, check_result: bool = True):
    """Wrap ``fn`` (an annotated method) so that its array arguments and result are checked. Errors name
    ``label``, or ``label(instance)`` of the instance the method is called on (computed at trace time only).

    ``asarray``: a public entry point's NumPy arguments become JAX arrays first (they fail ``Array`` annotations).
    ``check_result=False``: only the arguments are checked (a result whose batch is not the arguments' ``b``).
    """
    if is_contracted(fn):
        return fn
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    arguments = {name: hints[name] for name in signature.parameters if name in hints and name != "return"}
    result = hints.get("return") if check_result else None

    @typing.no_type_check  # the memo must be ours alone: keep jaxtyping's import hook off this wrapper
    @functools.wraps(fn)
    def checked(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        name = label if isinstance(label, str) else label(args[0])
        if asarray:
            for arg, value in bound.arguments.items():
                if isinstance(value, np.ndarray):
                    bound.arguments[arg] = jnp.asarray(value)
        with jaxtyped("context"):
            for arg, hint in arguments.items():
                _check(name, f"argument '{arg}'", bound.arguments[arg], hint, bound.arguments)
            if debug_checks_enabled():
                _check_values(name, arguments, bound.arguments)
            out = fn(*bound.args, **bound.kwargs)
            if result is not None:
                _check(name, "return value", out, result, bound.arguments)
            check_finite(name, "return value", out)
        return out

    setattr(checked, _CONTRACT_ATTR, True)
    return checked


def is_contracted(fn) -> bool:
    """True when ``fn`` is wrapped by ``contract``."""
    return getattr(fn, _CONTRACT_ATTR, False)


def checked(label: str, *, check_result: bool = True):
    """Decorator form of ``contract`` for a public method: ``@checked("FewShotDiffusion.loss")`` (NumPy arguments
    are converted to JAX arrays first)."""
    return lambda fn: contract(fn, label, asarray=True, check_result=check_result)


def check_images(label: str, name: str, value, image_shape: tuple[int, ...]) -> None:
    """Trace-time check that the trailing ``h w c`` of the images ``value`` are ``image_shape``."""
    if tuple(value.shape[-3:]) != tuple(image_shape):
        raise ContractError(
            f"{label}: argument '{name}' expected images of shape {list(image_shape)} (the model's image_shape) in "
            f"its last three axes, got {_describe(value)}"
        )


def has_array_annotations(fn) -> bool:
    """True when some parameter or the return of ``fn`` is annotated with an array type or an fsdiff container."""
    hints = typing.get_type_hints(fn, include_extras=True)
    return any(_mentions_array(hint) for hint in hints.values())


def _check_values(label: str, hints: dict, arguments: dict) -> None:
    """Debug mode: value checks of the arguments whose annotation says what their values must be."""
    for name, hint in hints.items():
        if arguments[name] is None:
            continue
        if _mentions(hint, (SetImages, ContextImages)):
            check_in_range(label, f"argument '{name}'", arguments[name])
        elif _mentions(hint, (ElementMask,)):
            check_mask(label, f"argument '{name}'", arguments[name])


def _mentions(hint, aliases: tuple) -> bool:
    return hint in aliases or any(_mentions(arg, aliases) for arg in typing.get_args(hint))


def _mentions_array(hint) -> bool:
    if isinstance(hint, type) and (issubclass(hint, AbstractArray) or dataclasses.is_dataclass(hint)):
        return True
    return any(_mentions_array(arg) for arg in typing.get_args(hint))


@typing.no_type_check  # runs inside the caller's jaxtyping memo; the import hook must not push a new one
def _check(label: str, what: str, value, hint, arguments: dict) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and is_bearable(value, hint):
        for field in dataclasses.fields(value):
            _check(
                label,
                f"{what} field '{field.name}'",
                getattr(value, field.name),
                field.type,
                arguments,
            )
        return
    if not is_bearable(value, hint):
        given = ", ".join(f"{k}={_describe(v)}" for k, v in arguments.items() if k != "self")
        raise ContractError(f"{label}: {what} expected {type_name(hint)}, got {_describe(value)} (called with {given})")


def _describe(value) -> str:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{getattr(value.dtype, 'name', value.dtype)}{list(value.shape)}"
    if value is None:
        return "None"
    if isinstance(value, str | int | float | bool):
        return f"{type(value).__name__} {value!r}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(f"{f.name}={_describe(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({inner})"
    return type(value).__name__
