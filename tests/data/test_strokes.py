"""The jittered stroke renderer: sizes, determinism, jitter on and off, and that strokes land where drawn."""

import numpy as np
import pytest

from fsdiff.data.strokes import DEFAULT_JITTER, render_glyph, sample_affine
from fsdiff.data.svg_path import parse_path

NO_JITTER = DEFAULT_JITTER.scaled(0.0)
CROSS = [[parse_path("M.2 .5L.8 .5")[0]], [parse_path("M.5 .2C.5 .4 .5 .6 .5 .8")[0]]]


@pytest.mark.parametrize("size", [16, 28, 32])
def test_renders_uint8_white_on_black_at_any_size(size):
    images = render_glyph(CROSS, size=size, instances=3, jitter=DEFAULT_JITTER, rng=np.random.default_rng(0))
    assert images.shape == (3, size, size)
    assert images.dtype == np.uint8
    assert images.max() == 255 and images[:, 0, 0].max() == 0  # ink on the strokes, black in the corners


def test_same_generator_seed_same_images():
    first = render_glyph(CROSS, size=16, instances=4, jitter=DEFAULT_JITTER, rng=np.random.default_rng(7))
    again = render_glyph(CROSS, size=16, instances=4, jitter=DEFAULT_JITTER, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)


def test_jitter_makes_instances_differ_and_no_jitter_makes_them_equal():
    jittered = render_glyph(CROSS, size=16, instances=4, jitter=DEFAULT_JITTER, rng=np.random.default_rng(0))
    assert all(not np.array_equal(jittered[0], other) for other in jittered[1:])
    plain = render_glyph(CROSS, size=16, instances=4, jitter=NO_JITTER, rng=np.random.default_rng(0))
    assert all(np.array_equal(plain[0], other) for other in plain[1:])


def test_strokes_land_where_the_path_draws_them():
    horizontal = [[parse_path("M.1 .25L.9 .25")[0]]]
    (image,) = render_glyph(horizontal, size=32, instances=1, jitter=NO_JITTER, rng=np.random.default_rng(0))
    rows = image.sum(axis=1)
    assert abs(int(rows.argmax()) - 8) <= 1  # y = 0.25 of 32 px, pixel centres at i + 1/2
    assert image[:, 4:28].max(axis=0).min() > 0  # spans x = 0.1 .. 0.9
    assert image[:, :2].max() == 0 and image[:, 30:].max() == 0


def test_empty_glyph_is_black():
    images = render_glyph([], size=8, instances=2, jitter=DEFAULT_JITTER, rng=np.random.default_rng(0))
    assert images.shape == (2, 8, 8) and images.max() == 0


def test_scaled_jitter_scales_every_random_amount():
    none = DEFAULT_JITTER.scaled(0.0)
    assert (none.rotation, none.scale, none.shear, none.translate, none.stroke_offset) == (0.0,) * 5
    assert none.width[0] == none.width[1] == pytest.approx(sum(DEFAULT_JITTER.width) / 2)
    double = DEFAULT_JITTER.scaled(2.0)
    assert double.rotation == 2 * DEFAULT_JITTER.rotation
    assert double.width[1] - double.width[0] == pytest.approx(2 * (DEFAULT_JITTER.width[1] - DEFAULT_JITTER.width[0]))


def test_affine_maps_are_identity_without_jitter_and_orientation_preserving_with_it():
    matrix, shift = sample_affine(np.random.default_rng(0), NO_JITTER, 3)
    np.testing.assert_allclose(matrix, np.broadcast_to(np.eye(2), (3, 2, 2)))
    np.testing.assert_allclose(shift, 0.0)
    matrix, shift = sample_affine(np.random.default_rng(0), DEFAULT_JITTER, 50)
    assert (np.linalg.det(matrix) > 0).all()
    assert np.abs(shift).max() <= DEFAULT_JITTER.translate
