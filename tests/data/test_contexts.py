"""Held-out contexts: k shots and distinct targets of each chosen class, reproducible."""

import numpy as np
import pytest

from fsdiff.data.contexts import context_sets
from fsdiff.data.pixels import to_float
from fsdiff.errors import DataError

from .test_classes import toy


def test_shots_and_targets_are_distinct_images_of_the_class():
    data = toy(5, 6)
    sets = context_sets(data, shots=2, targets=3, classes=[4, 1], seed=0)
    assert sets.context.shape == (2, 2, 4, 4, 1) and sets.targets.shape == (2, 3, 4, 4, 1)
    assert sets.context.dtype == np.float32
    np.testing.assert_array_equal(sets.labels, [4, 1])
    values = to_float(data.images[:, :1, :1])[:, 0, 0, 0]
    for row, label in enumerate(sets.labels.tolist()):
        picked = np.concatenate([sets.context[row, :, 0, 0, 0], sets.targets[row, :, 0, 0, 0]])
        indices = [int(np.flatnonzero(values == value)[0]) for value in picked]
        assert len(set(indices)) == 5 and set(data.labels[indices].tolist()) == {label}


def test_same_seed_same_contexts_and_default_is_every_class():
    data = toy(4, 5)
    a, b = context_sets(data, shots=3, seed=2), context_sets(data, shots=3, seed=2)
    np.testing.assert_array_equal(a.context, b.context)
    assert a.targets.shape == (4, 0, 4, 4, 1) and a.labels.tolist() == [0, 1, 2, 3]
    assert not np.array_equal(a.context, context_sets(data, shots=3, seed=3).context)


def test_too_few_images_is_a_data_error_naming_the_class():
    with pytest.raises(DataError, match="class 'c0' has 3 images, fewer than the 4 2 shots and 2 targets"):
        context_sets(toy(2, 3), shots=2, targets=2)
