"""The shape vocabulary of fsdiff: dimension names, array aliases and the containers passed between components.

Dimension names, used in every contract:
    b  sets in a batch              n  set size (elements per set)
    k  context size (sampling)      h w c  image height, width, channels (channels-last)
    p  tokens                       d  encoder width
    e  conditioning width
"""

import dataclasses
import math
import types
import typing
from typing import Annotated, Literal

import jax
from beartype.vale import Is
from jaxtyping import AbstractArray, Array, Bool, Float, Real

SetImages = Float[Array, "b n h w c"]
ContextImages = Float[Array, "b k h w c"]
Images = Float[Array, "b h w c"]
DenoiserOutput = Float[Array, "b h w c_out"]
ElementMask = Bool[Array, "b n"]
Timesteps = Real[Array, "b"]
Tokens = Float[Array, "b p d"]
Pooled = Float[Array, "b d"]
ConditioningVector = Float[Array, "b e"]
ConditioningTokens = Float[Array, "b p e"]
ConditioningGrid = Float[Array, "b gh gw e"]
PerSet = Float[Array, "b"]

PositiveInt = Annotated[int, Is[lambda v: not isinstance(v, bool) and v > 0]]
NonNegativeInt = Annotated[int, Is[lambda v: not isinstance(v, bool) and v >= 0]]
Probability = Annotated[float, Is[lambda v: 0.0 <= v <= 1.0]]
PositiveFloat = Annotated[float, Is[lambda v: math.isfinite(v) and v > 0.0]]
NonNegativeFloat = Annotated[float, Is[lambda v: math.isfinite(v) and v >= 0.0]]
NonNegativeNumber = Annotated[float | int, Is[lambda v: not isinstance(v, bool) and math.isfinite(v) and v >= 0]]
"""A finite number >= 0 given as a Python float or int (a guidance scale, a loss weight)."""
ImageShape = Annotated[tuple[int, int, int], Is[lambda s: all(not isinstance(v, bool) and v > 0 for v in s)]]


@typing.no_type_check  # fields are checked by the component contracts; pytree rebuilds may hold non-arrays
@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SetEncoding:
    """What an encoder says about a set: patch tokens ``b p d`` and one pooled vector ``b d``."""

    tokens: Tokens
    pooled: Pooled


@typing.no_type_check  # as SetEncoding
@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Conditioning:
    """What a denoiser is conditioned on: a vector ``b e`` (adaLN/FiLM), tokens ``b p e`` (cross-attention), a
    ``spatial`` grid ``b gh gw e`` of features laid over the image (row ``i``, column ``j`` describe the same
    region of the image as the denoiser's own features there), or several of these; ``kl`` is the per-set KL of a
    variational context in bits per dimension (zeros when deterministic)."""

    vector: ConditioningVector | None
    tokens: ConditioningTokens | None
    kl: PerSet
    spatial: ConditioningGrid | None = None

    @property
    def provides(self) -> frozenset[str]:
        """The conditioning forms present: a subset of ``CONDITIONING_FORMS``."""
        return frozenset(name for name in CONDITIONING_FORMS if getattr(self, name) is not None)


CONDITIONING_FORMS = ("vector", "tokens", "spatial")
"""The forms a ``Conditioning`` can hold; a conditioner ``provides`` and a denoiser ``accepts`` a subset."""


CONSTRAINT_NAMES = {
    PositiveInt: "int > 0",
    NonNegativeInt: "int >= 0",
    Probability: "float in [0, 1]",
    PositiveFloat: "finite float > 0",
    NonNegativeFloat: "finite float >= 0",
    NonNegativeNumber: "finite number >= 0",
    ImageShape: "[height, width, channels] of ints > 0",
}
"""Readable names of the constrained option types above, for config error messages."""


def type_name(annotation) -> str:
    """A short readable name for an annotation: ``Float[Array, 'b n h w c']``, ``int > 0``, ``one of 'a', 'b'``."""
    if annotation in CONSTRAINT_NAMES:
        return CONSTRAINT_NAMES[annotation]
    if isinstance(annotation, type) and issubclass(annotation, AbstractArray):
        return f"{annotation.__name__.split('[')[0]}[Array, '{annotation.dim_str}']"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is Annotated:
        return type_name(args[0])
    if annotation is type(None):
        return "None"
    if annotation is Ellipsis:
        return "..."
    if origin is not None:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(type_name(a) for a in args)}]"
    return getattr(annotation, "__name__", repr(annotation))


def coerce(value: object, annotation: object) -> object:
    """JSON/YAML carry lists for tuples and ints for floats: convert where the annotation asks for it."""
    base = _unannotated(annotation)
    accepted = typing.get_args(base) if typing.get_origin(base) in (typing.Union, types.UnionType) else (base,)
    accepted = tuple(_unannotated(a) for a in accepted)
    if isinstance(value, list) and any(typing.get_origin(a) is tuple or a is tuple for a in accepted):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool) and float in accepted and int not in accepted:
        return float(value)
    return value


def _unannotated(annotation: object) -> object:
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation
