"""Class data sets: validation, selection, and train/val/test splits with disjoint classes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsdiff.data.classes import ClassImages
from fsdiff.errors import DataError


def toy(classes=10, per_class=3, source="toy"):
    """Image i is filled with the value i, so any selection can be traced back."""
    n = classes * per_class
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 4, 4, 1)).copy()
    labels = np.repeat(np.arange(classes, dtype=np.int64), per_class)
    return ClassImages(images=images, labels=labels, names=tuple(f"c{i}" for i in range(classes)), source=source)


def names_of(data):
    return set(data.names)


@given(
    classes=st.integers(3, 40),
    val=st.one_of(st.floats(0.0, 0.3), st.integers(0, 1)),
    test=st.one_of(st.floats(0.0, 0.3), st.integers(0, 1)),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_is_disjoint_complete_and_reproducible(classes, val, test, seed):
    data = toy(classes)
    train, valid, held = data.split(seed, val=val, test=test)
    assert not names_of(train) & names_of(valid) and not names_of(train) & names_of(held)
    assert not names_of(valid) & names_of(held)
    assert names_of(train) | names_of(valid) | names_of(held) == names_of(data)
    assert len(train) + len(valid) + len(held) == len(data) and train.num_classes >= 1
    again = data.split(seed, val=val, test=test)
    assert [part.names for part in again] == [train.names, valid.names, held.names]
    for part in (train, valid, held):  # images follow their class
        original = {name: i for i, name in enumerate(data.names)}
        traced = [original[part.names[label]] for label in part.labels]
        np.testing.assert_array_equal(data.labels[part.images[:, 0, 0, 0]], traced)


def test_split_sizes_from_fractions_and_counts():
    train, val, test = toy(20).split(0, val=0.1, test=3)
    assert (train.num_classes, val.num_classes, test.num_classes) == (15, 2, 3)
    assert toy(5).split(0, val=0.01, test=0.0).val.num_classes == 1  # a positive fraction keeps one class


def test_different_seeds_give_different_splits():
    splits = {toy(30).split(seed, val=0.2, test=0.2).test.names for seed in range(5)}
    assert len(splits) > 1


def test_split_that_leaves_nothing_to_train_on_is_a_data_error():
    with pytest.raises(DataError, match="toy: 4 classes cannot give 2 validation and 2 test"):
        toy(4).split(0, val=2, test=2)


def test_select_relabels_in_the_given_order():
    part = toy(5).select([3, 1])
    assert part.names == ("c3", "c1")
    np.testing.assert_array_equal(part.labels, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(part.images[:, 0, 0, 0], [9, 10, 11, 3, 4, 5])


def test_counts_and_members():
    data = toy(3, 2)
    np.testing.assert_array_equal(data.counts, [2, 2, 2])
    assert [m.tolist() for m in data.members()] == [[0, 1], [2, 3], [4, 5]]
    assert data.image_shape == (4, 4, 1) and len(data) == 6


def test_require_names_the_short_class_and_the_source():
    data = toy(4, 3).select([0, 1, 2])
    uneven = ClassImages(images=data.images[:8], labels=data.labels[:8], names=data.names, source="my/folder")
    with pytest.raises(DataError, match="my/folder: class 'c2' has 2 images, fewer than the 3 sets need"):
        uneven.require(3, purpose="sets need")


def test_labels_outside_the_names_are_a_data_error():
    with pytest.raises(DataError, match="toy: labels must lie in 0..1"):
        ClassImages(images=np.zeros((2, 2, 2, 1), np.uint8), labels=np.array([0, 2]), names=("a", "b"), source="toy")
