"""Episodic batches of sets: each set is ``n`` distinct images of one class, the unit a few-shot diffusion
model trains on."""

import numpy as np
from jaxtyping import Float32, Int64

from fsdiff.data.classes import ClassImages
from fsdiff.data.pixels import to_float
from fsdiff.typing import NonNegativeInt, PositiveInt


class SetSampler:
    """Batches of ``batch_size`` sets of ``set_size`` images, float32 in [-1, 1].

    ``batch(step)`` is a pure function of ``(seed, step)``: a run resumed at step ``s`` sees exactly the batches
    it would have seen, with no sampler state to checkpoint. Within a batch the classes are distinct while the
    data set has enough of them (else drawn with replacement); within a set the images are distinct.
    """

    def __init__(
        self,
        data: ClassImages,
        *,
        set_size: PositiveInt,
        batch_size: PositiveInt,
        seed: NonNegativeInt = 0,
    ):
        data.require(set_size, purpose=f"a set of size {set_size}")
        self.data = data
        self.set_size = set_size
        self.batch_size = batch_size
        self.seed = seed
        self._counts = data.counts
        members = data.members()
        # Class members padded to a rectangle, so one argsort draws every set of a batch.
        self._members = np.zeros((data.num_classes, int(self._counts.max())), dtype=np.int64)
        for c, indices in enumerate(members):
            self._members[c, : len(indices)] = indices

    def batch(self, step: NonNegativeInt) -> Float32[np.ndarray, "b n h w c"]:
        """The sets of training step ``step``: ``(batch_size, set_size, h, w, c)``."""
        return to_float(self.data.images[self.indices(step)])

    def labels(self, step: NonNegativeInt) -> Int64[np.ndarray, "b"]:
        """The class of each set of ``batch(step)``."""
        return self._draw(step)[0]

    def indices(self, step: NonNegativeInt) -> Int64[np.ndarray, "b n"]:
        """Indices into ``data.images`` of ``batch(step)``."""
        return self._draw(step)[1]

    def _draw(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, step])
        classes = rng.choice(self.data.num_classes, self.batch_size, replace=self.batch_size > self.data.num_classes)
        counts = self._counts[classes]
        keys = rng.random((self.batch_size, self._members.shape[1]))
        keys[np.arange(keys.shape[1])[None, :] >= counts[:, None]] = np.inf  # padding never drawn
        picks = np.argsort(keys, axis=1)[:, : self.set_size]
        return classes.astype(np.int64), self._members[classes[:, None], picks]
