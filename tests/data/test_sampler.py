"""Episodic set sampling: pure in (seed, step), one class per set, distinct images, model-ready values."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsdiff.data.classes import ClassImages
from fsdiff.data.sampler import SetSampler
from fsdiff.errors import DataError

from .test_classes import toy


def uneven(counts):
    """Classes of the given sizes; image i holds the value i."""
    labels = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    images = np.arange(len(labels), dtype=np.uint8)[:, None, None, None] * np.ones((1, 3, 3, 1), np.uint8)
    return ClassImages(images=images, labels=labels, names=tuple(f"c{i}" for i in range(len(counts))), source="uneven")


@given(
    seed=st.integers(0, 2**31),
    step=st.integers(0, 10**9),
    set_size=st.integers(1, 4),
    batch_size=st.integers(1, 12),
)
def test_every_set_is_distinct_images_of_one_class(seed, step, set_size, batch_size):
    data = uneven([4, 7, 5, 9, 4])
    sampler = SetSampler(data, set_size=set_size, batch_size=batch_size, seed=seed)
    indices, labels = sampler.indices(step), sampler.labels(step)
    assert indices.shape == (batch_size, set_size)
    np.testing.assert_array_equal(data.labels[indices], np.broadcast_to(labels[:, None], indices.shape))
    assert all(len(set(row)) == set_size for row in indices.tolist())
    if batch_size <= data.num_classes:
        assert len(set(labels.tolist())) == batch_size  # distinct classes while there are enough


def test_batch_shape_dtype_and_range():
    batch = SetSampler(toy(6, 5), set_size=4, batch_size=3, seed=0).batch(0)
    assert batch.shape == (3, 4, 4, 4, 1) and batch.dtype == np.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0


def test_batch_is_a_pure_function_of_seed_and_step():
    data = toy(8, 6)
    first = SetSampler(data, set_size=3, batch_size=4, seed=5)
    resumed = SetSampler(data, set_size=3, batch_size=4, seed=5)  # a fresh sampler, as after a restart
    for step in (0, 1, 17, 10**6):
        np.testing.assert_array_equal(first.batch(step), resumed.batch(step))
    np.testing.assert_array_equal(first.batch(3), first.batch(3))  # asking twice changes nothing


def test_different_seeds_and_steps_differ():
    data = toy(20, 6)
    a, b = SetSampler(data, set_size=3, batch_size=4, seed=0), SetSampler(data, set_size=3, batch_size=4, seed=1)
    assert not np.array_equal(a.indices(0), b.indices(0))
    assert not np.array_equal(a.indices(0), a.indices(1))


def test_more_sets_than_classes_draws_classes_again():
    labels = SetSampler(toy(2, 3), set_size=2, batch_size=5, seed=0).labels(0)
    assert labels.shape == (5,) and set(labels.tolist()) <= {0, 1}


def test_a_class_smaller_than_the_set_is_a_data_error_naming_class_and_source():
    with pytest.raises(DataError, match="uneven: class 'c1' has 2 images, fewer than the 3 a set of size 3 needs"):
        SetSampler(uneven([3, 2, 5]), set_size=3, batch_size=2)
