"""Held-out contexts for sampling and evaluation: ``k`` shots of chosen classes, plus other images of the same
classes to compare generated images against."""

import dataclasses
from collections.abc import Sequence

import numpy as np
from jaxtyping import Float32, Int64

from fsdiff.data.classes import ClassImages
from fsdiff.data.pixels import to_float
from fsdiff.typing import NonNegativeInt, PositiveInt


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContextSets:
    """Per class: ``context`` shots the model conditions on, ``targets`` other images of the same class (none
    shared with the context), and the class ``labels``; images float32 in [-1, 1]."""

    context: Float32[np.ndarray, "b k h w c"]
    targets: Float32[np.ndarray, "b m h w c"]
    labels: Int64[np.ndarray, "b"]


def context_sets(
    data: ClassImages,
    *,
    shots: PositiveInt,
    targets: NonNegativeInt = 0,
    classes: Sequence[int] | None = None,
    seed: NonNegativeInt = 0,
) -> ContextSets:
    """Draw ``shots + targets`` distinct images of each of ``classes`` (default: every class of ``data``, in
    order), the same for the same seed. Raises ``DataError`` naming a class with too few images."""
    chosen = list(range(data.num_classes)) if classes is None else list(classes)
    data.select(chosen).require(shots + targets, purpose=f"{shots} shots and {targets} targets")
    rng = np.random.default_rng(seed)
    members = data.members()
    picks = np.stack([rng.choice(members[c], shots + targets, replace=False) for c in chosen])
    images = to_float(data.images[picks])
    return ContextSets(context=images[:, :shots], targets=images[:, shots:], labels=np.asarray(chosen, dtype=np.int64))
