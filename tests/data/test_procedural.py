"""The procedural alphabet: fast, seeded, distinct classes, jittered instances."""

import numpy as np
import pytest

from fsdiff.data.procedural import procedural_dataset, random_glyph
from fsdiff.errors import ConfigError


@pytest.mark.parametrize("size", [16, 32])
def test_shapes_labels_and_names(size):
    data = procedural_dataset(classes=20, instances=10, size=size)
    assert data.images.shape == (200, size, size, 1) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.counts, np.full(20, 10))
    assert data.names[:2] == ("glyph0", "glyph1") and data.source == "procedural"
    assert (data.images.reshape(200, -1).max(axis=1) > 0).all()  # every image has ink


def test_seeded_and_distinct():
    data = procedural_dataset(classes=6, instances=3, size=16, seed=1)
    np.testing.assert_array_equal(data.images, procedural_dataset(classes=6, instances=3, size=16, seed=1).images)
    assert not np.array_equal(data.images, procedural_dataset(classes=6, instances=3, size=16, seed=2).images)
    firsts = data.images[::3]
    assert len({image.tobytes() for image in firsts}) == 6
    assert not np.array_equal(data.images[0], data.images[1])  # instances of one class differ


def test_class_depends_only_on_seed_and_index():
    few = procedural_dataset(classes=3, instances=2, size=16)
    more = procedural_dataset(classes=5, instances=2, size=16)
    np.testing.assert_array_equal(few.images, more.images[:6])


def test_stroke_counts_within_range():
    for seed in range(20):
        glyph = random_glyph(np.random.default_rng(seed), min_strokes=2, max_strokes=3)
        assert 2 <= len(glyph) <= 3


def test_min_above_max_strokes_is_a_config_error():
    with pytest.raises(ConfigError, match="min_strokes"):
        procedural_dataset(classes=2, instances=2, min_strokes=4, max_strokes=2)
