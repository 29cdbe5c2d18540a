"""The abstract conditioner: a set encoding -> what the denoiser is conditioned on."""

from typing import ClassVar

from jaxtyping import PRNGKeyArray

from fsdiff.component import Contracted
from fsdiff.registry import add_kind
from fsdiff.typing import Conditioning, SetEncoding


class Conditioner(Contracted):
    """Maps ``SetEncoding`` to ``Conditioning``. With a ``key`` (training) it may sample a variational context
    and drop the context to a learned null; without one (evaluation, sampling) it is deterministic.

    ``provides``: the conditioning forms it fills, a subset of ``{"vector", "tokens", "spatial"}``.
    ``null(encoding)``: the learned null conditioning shaped like ``self(encoding)``, for classifier-free guidance
    and unconditional likelihoods.
    """

    provides: ClassVar[frozenset[str]] = frozenset()

    def __call__(self, encoding: SetEncoding, key: PRNGKeyArray | None = None) -> Conditioning:
        raise TypeError(f"{type(self).__name__} must define __call__")

    def null(self, encoding: SetEncoding) -> Conditioning:
        raise TypeError(f"{type(self).__name__} must define null")


add_kind("conditioner", Conditioner)
