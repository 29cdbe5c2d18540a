"""Labelled images grouped by class, and their split into train / validation / test by class."""

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jaxtyping import Int, Int64, UInt8

from fsdiff.errors import DataError
from fsdiff.typing import NonNegativeInt, PositiveInt, Probability


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class ClassImages:
    """A data set of ``N`` images in ``C`` classes: uint8 images ``N h w c``, labels ``0..C-1``, one name per
    class, and ``source`` (where it came from, named in every error about it)."""

    images: UInt8[np.ndarray, "N h w c"]
    labels: Int[np.ndarray, "N"]
    names: tuple[str, ...]
    source: str

    def __post_init__(self):
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.names)):
            raise DataError(
                f"{self.source}: labels must lie in 0..{len(self.names) - 1} (one per class name), "
                f"got {self.labels.min()}..{self.labels.max()}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(h, w, c)``."""
        return self.images.shape[1:]

    @property
    def counts(self) -> Int64[np.ndarray, "C"]:
        """Images per class."""
        return np.bincount(self.labels, minlength=self.num_classes).astype(np.int64)

    def members(self) -> list[Int64[np.ndarray, "_"]]:
        """For each class, the indices of its images in increasing order."""
        order = np.argsort(self.labels, kind="stable")
        return np.split(order.astype(np.int64), np.cumsum(self.counts)[:-1])

    def require(self, per_class: PositiveInt, *, purpose: str) -> None:
        """Raise ``DataError`` naming the first class with fewer than ``per_class`` images, and the source."""
        if self.num_classes == 0:
            raise DataError(f"{self.source}: no classes, {purpose} needs at least one")
        short = np.flatnonzero(self.counts < per_class)
        if len(short):
            c = int(short[0])
            raise DataError(
                f"{self.source}: class {self.names[c]!r} has {self.counts[c]} images, fewer than the "
                f"{per_class} {purpose} needs ({len(short)} such classes)"
            )

    def select(self, classes: Sequence[int]) -> "ClassImages":
        """The images of ``classes`` only, relabelled ``0..len(classes)-1`` and grouped in the given order."""
        classes = np.asarray(classes, dtype=np.int64)
        relabel = np.full(self.num_classes, -1, dtype=np.int64)
        relabel[classes] = np.arange(len(classes))
        keep = np.flatnonzero(relabel[self.labels] >= 0)
        keep = keep[np.argsort(relabel[self.labels[keep]], kind="stable")]  # grouped in the given class order
        return dataclasses.replace(
            self,
            images=self.images[keep],
            labels=relabel[self.labels[keep]],
            names=tuple(self.names[c] for c in classes.tolist()),
        )

    def split(
        self,
        seed: NonNegativeInt = 0,
        *,
        val: Probability | NonNegativeInt = 0.1,
        test: Probability | NonNegativeInt = 0.1,
    ) -> "Splits":
        """Split by class: no class appears in two parts. ``val``/``test`` are a fraction of the classes
        (float; at least one class when positive) or a number of classes (int). The same seed gives the same
        split; each part keeps the classes in their original order."""
        total = self.num_classes
        n_val, n_test = _class_count(val, total), _class_count(test, total)
        if n_val + n_test >= total:
            raise DataError(
                f"{self.source}: {total} classes cannot give {n_val} validation and {n_test} test classes "
                "and still leave one to train on"
            )
        order = np.random.default_rng(seed).permutation(total)
        test_classes, val_classes = np.sort(order[:n_test]), np.sort(order[n_test : n_test + n_val])
        train_classes = np.sort(order[n_test + n_val :])
        return Splits(
            train=self.select(train_classes.tolist()),
            val=self.select(val_classes.tolist()),
            test=self.select(test_classes.tolist()),
        )


class Splits(NamedTuple):
    """Train, validation and test parts of a ``ClassImages`` with disjoint classes."""

    train: ClassImages
    val: ClassImages
    test: ClassImages


def _class_count(part: float | int, total: int) -> int:
    if isinstance(part, int):
        return part
    return max(1, round(part * total)) if part > 0 else 0
