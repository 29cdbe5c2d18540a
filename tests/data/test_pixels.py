"""Pixel conversions: exact round trip uint8 <-> [-1, 1], channel changes, resizing."""

import numpy as np
import pytest

from fsdiff.data.pixels import resize, to_channels, to_float, to_uint8


def test_float_range_and_exact_round_trip():
    values = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    floats = to_float(values)
    assert floats.dtype == np.float32 and floats.min() == -1.0 and floats.max() == 1.0
    np.testing.assert_array_equal(to_uint8(floats), values)
    np.testing.assert_array_equal(to_uint8(np.array([[[[-3.0]], [[3.0]]]])), [[[[0]], [[255]]]])  # clipped


def test_channels_gray_to_rgb_and_back():
    gray = np.arange(8, dtype=np.uint8).reshape(2, 2, 2, 1) * 30
    rgb = to_channels(gray, 3)
    assert rgb.shape == (2, 2, 2, 3) and (rgb == gray).all()
    np.testing.assert_array_equal(to_channels(rgb, 1), gray)
    with pytest.raises(ValueError, match="cannot convert 3 channels to 2"):
        to_channels(rgb, 2)


def test_resize_shape_and_identity():
    images = np.zeros((2, 28, 28, 1), np.uint8)
    images[:, 10:18, 10:18] = 255
    out = resize(images, 32)
    assert out.shape == (2, 32, 32, 1) and out.dtype == np.uint8 and out.max() > 200
    assert resize(images, 28) is images
    np.testing.assert_array_equal(resize(np.full((1, 8, 8, 3), 7, np.uint8), 4), np.full((1, 4, 4, 3), 7))
