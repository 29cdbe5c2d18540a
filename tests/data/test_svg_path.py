"""SVG path parsing: the commands and number formats KanjiVG uses, implicit repeats, and errors for the rest."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsdiff.data.svg_path import flatten, parse_path
from fsdiff.errors import DataError


def ends(d):
    """Every segment end of every subpath."""
    return [segments[:, 3].tolist() for segments in parse_path(d)]


def test_compact_numbers_split_at_signs_and_second_dots():
    (segments,) = parse_path("M1.5-2.3c.5.5 1 1 2 2")
    np.testing.assert_allclose(segments[0], [[1.5, -2.3], [2.0, -1.8], [2.5, -1.3], [3.5, -0.3]])


def test_exponents_and_explicit_plus():
    (segments,) = parse_path("M1e1,2E-1L+3,.25e1")
    np.testing.assert_allclose(segments[0, [0, 3]], [[10.0, 0.2], [3.0, 2.5]])


def test_numbers_after_a_moveto_are_linetos_and_other_commands_repeat():
    assert ends("M0 0 10 0 10 10") == [[[10.0, 0.0], [10.0, 10.0]]]
    assert ends("m1 1 2 0 0 2") == [[[3.0, 1.0], [3.0, 3.0]]]
    assert ends("M0 0c1 0 2 0 3 0 1 0 2 0 3 0") == [[[3.0, 0.0], [6.0, 0.0]]]


def test_lines_horizontal_vertical_and_close():
    assert ends("M0 0H10V10h-5v-5Z") == [[[10.0, 0.0], [10.0, 10.0], [5.0, 10.0], [5.0, 5.0], [0.0, 0.0]]]
    assert ends("M0 0L4 0l0 3z") == [[[4.0, 0.0], [4.0, 3.0], [0.0, 0.0]]]


def test_lines_are_exact_straight_cubics():
    (segments,) = parse_path("M0 0L3 6")
    np.testing.assert_allclose(segments[0], [[0, 0], [1, 2], [2, 4], [3, 6]])


def test_smooth_curve_reflects_the_previous_control_point():
    (segments,) = parse_path("M0 0C1 1 2 1 3 0S5 -1 6 0s1 1 2 0")
    np.testing.assert_allclose(segments[1, 1], [4.0, -1.0])  # 2 * (3, 0) - (2, 1)
    np.testing.assert_allclose(segments[2, 1], [7.0, 1.0])  # 2 * (6, 0) - (5, -1)


def test_smooth_curve_after_a_line_starts_its_control_at_the_current_point():
    (segments,) = parse_path("M0 0L2 0S3 1 4 0")
    np.testing.assert_allclose(segments[1, 1], [2.0, 0.0])


def test_moveto_and_close_start_new_subpaths():
    subpaths = ends("M0 0L1 1M5 5l1 0")
    assert subpaths == [[[1.0, 1.0]], [[6.0, 5.0]]]
    assert ends("M1 1l1 0zl0 2") == [[[2.0, 1.0], [1.0, 1.0]], [[1.0, 3.0]]]  # after z: from the subpath start
    assert ends("M0 0m2 2l1 0") == [[[3.0, 2.0]]]  # relative moveto from the current point


@pytest.mark.parametrize(
    ("d", "words"),
    [
        ("L1 1", "moveto"),
        ("5 5", "moveto"),
        ("M0 0A1 1 0 0 1 2 2", "unsupported"),
        ("M0 0L1", "2 numbers at a time"),
        ("M0 0C1 1 2 2", "6 numbers at a time"),
        ("M0 0 # 1", "unexpected character"),
        ("M0 0Z1", "no numbers"),
    ],
)
def test_malformed_paths_raise_data_error(d, words):
    with pytest.raises(DataError, match=words):
        parse_path(d)


def _compact(values):
    """Numbers the way SVG exporters squeeze them: no leading zero, no separator where a sign or a second dot
    already ends the previous number."""
    out, previous = "", ""
    for value in values:
        text = f"{value:.3f}".rstrip("0").rstrip(".").replace("-0.", "-.")
        text = text[1:] if text.startswith("0.") else text
        ends_previous = text.startswith("-") or (text.startswith(".") and "." in previous)
        out += text if ends_previous or not out else " " + text
        previous = text
    return out


def test_compact_writer_squeezes_as_exporters_do():
    assert _compact([1.5, -2.3, 0.5, 0.5, 0.0, 1.25]) == "1.5-2.3.5.5 0 1.25"


@given(
    st.lists(st.integers(-99999, 99999).map(lambda v: v / 1000), min_size=4, max_size=20).filter(
        lambda v: len(v) % 2 == 0
    )
)
def test_compactly_written_coordinates_parse_back_exactly(values):
    subpaths = parse_path("M" + _compact(values))
    points = np.asarray(values).reshape(-1, 2)
    if len(points) == 1:
        assert subpaths == []
        return
    (segments,) = subpaths
    np.testing.assert_allclose(segments[:, 3], points[1:], atol=1e-9)
    np.testing.assert_allclose(segments[0, 0], points[0], atol=1e-9)


def test_flatten_samples_each_segment_and_keeps_the_ends():
    segments = parse_path("M0 0C0 10 10 10 10 0C10 -10 20 -10 20 0")[0]
    line = flatten(segments, samples=4)
    assert line.shape == (9, 2)
    np.testing.assert_allclose(line[[0, 4, 8]], [[0, 0], [10, 0], [20, 0]])
    np.testing.assert_allclose(line[2], [5.0, 7.5])  # B(1/2) = (P0 + 3 P1 + 3 P2 + P3) / 8
